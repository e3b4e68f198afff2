"""Slack I/O with no answer decisions: the thread reply and the ephemeral reply, Block Kit
builders, formatting, pacing, the Web API client, Socket Mode and the HTTP server."""
