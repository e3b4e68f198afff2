"""`python -m slackemu` serves until interrupted and tells the user where to look."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path


def test_python_m_slackemu_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "slackemu", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        # A background job (`make test &`) inherits SIGINT ignored; give the child Ctrl-C back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        output = "".join(lines)
        url = re.search(r"Open the workspace:\s+(\S+)", output).group(1)  # type: ignore[union-attr]
        assert "SLACK_BOT_TOKEN=xoxb-" in output and "SLACK_APP_TOKEN=xapp-" in output
        with urllib.request.urlopen(url) as response:
            assert b"Local Slack emulator" in response.read()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
