"""`python -m slackemu`: run the local Slack workspace alone."""

import sys

from slackemu.main import main

sys.exit(main())
