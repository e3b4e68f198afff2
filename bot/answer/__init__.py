"""The answer path in call order, and the only code in `bot/` that calls the engine: routing,
admission, jobs, the pipeline, the reader (Slack reads), the conversation, the answerers and
the ending."""
