"""Deskhand's Slack side: Bolt listeners that ack at once, an answer pipeline that turns a Slack
thread into a prompt, streams the engine's text back into the thread, and keeps Slack's rules
(exactly once, rate limits, sizes, formatting). It reaches the model only through `engine`.
"""
