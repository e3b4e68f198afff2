"""Deskhand's Slack side: Bolt listeners that ack at once, one answer path that turns a Slack
conversation into a prompt and streams the engine's text back, and Slack's rules kept
(exactly once, rate limits, sizes, formatting). It reaches the model only through `engine`.

The rooms: `listeners/` (Bolt glue: parse, admit, ack), `answer/` (the hot path in call
order, the only code that calls the engine), `slack/` (Slack I/O, no answer decisions),
`replicas/` (recovery, the Stop relay), `usage/` (rows in, summaries out); beside them
`app.py`, `runtime.py`, `services.py`, `config.py`, `errors.py`, `types.py`.

The answer path of one `app_mention`, in order:

 1. slack/socket_mode.py:AckFirstSocketMode._dispatch_event — acked already; hands it to Bolt
    (HTTP mode: slack/http_server.py)
 2. listeners/events.py:handle_message_event — the listener registered in listeners/__init__.py
 3. answer/routing.py:route_event — is it for us? the Question (pure)
 4. answer/admission.py:admit — the exactly-once claim in the store, allowlists, limits,
    budgets (usage/budgets.py), a slot in the generation pool (answer/jobs.py:GenerationPool)
 5. answer/pipeline.py:run — on a pool thread; one dispatch for every kind of job
    (a slash command's question is posted first: answer/command.py:post_question)
 6. answer/pipeline.py:answer_question — the numbered steps and the one error boundary:
    a. slack/thread_reply.py:ThreadReply.show_working — assistant status or a placeholder
    b. answer/reader.py:ConversationReader.read — Slack reads, then
       answer/conversation.py:build_conversation (pure)
    c. answer/answerers.py:<Answerer>.prepare — the prompt (kb's SupportDesk for a KB question)
    d. answer/pipeline.py:generate — engine.submit, streaming into ThreadReply.append
    e. answer/ending.py:final_reply — the ending, then ThreadReply.finish (or .notice)
    f. usage/meter.py:Meter.record — one usage row
"""
