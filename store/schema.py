"""The store's tables, described once with SQLAlchemy Core on one `metadata`.

A table's definition here is its current shape; `store/migrations.py` brings an existing
database to it step by step. Times are Unix seconds (float). Slack ids and ts are strings.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", String(100), primary_key=True),  # the migration's name, e.g. "0001_core"
    Column("applied_at", Float, nullable=False),
)

# Event ids Slack delivered and one replica claimed: a redelivery is never answered again.
processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("received_at", Float, nullable=False),
)

# One row per question, from the moment it is accepted until its answer is written.
# (channel, ts) is unique: the claim that makes `app_mention` + `message` one question.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32)),  # None for a slash command until its question is posted
    Column("thread_ts", String(32)),
    Column("user_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # mention | dm | followup | command
    Column("payload", Text, nullable=False),  # JSON: what it takes to answer it again
    Column("state", String(16), nullable=False),  # see store.jobs.JobState
    Column("outcome", String(32)),  # why it ended: stop, length, busy, too_long, restarted…
    Column("reply_ts", Text),  # the answer's message ts, comma-separated parts
    Column("owner", String(64)),  # the replica instance answering it
    Column("stop_requested_by", String(32)),  # a Stop click that reached another replica
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("channel", "ts", name="jobs_channel_ts"),
)
Index("jobs_state", jobs.c.state)
Index("jobs_user_state", jobs.c.user_id, jobs.c.state)

# Every running replica's heartbeat: a job whose owner stopped beating is taken over.
replicas = Table(
    "replicas",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)

# "Ask a human" pressed on a question: it is passed on once, across restarts and replicas.
handoffs = Table(
    "handoffs",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("source_ts", String(32), primary_key=True),
    Column("user_id", String(32)),
    Column("claimed_at", Float, nullable=False),
)

# The knowledge base's answers and the 👍/👎 votes on them (kb/feedback.py owns the queries).
feedback_answers = Table(
    "feedback_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("channel", String(32)),
    Column("user_id", String(32)),
    Column("question", Text, nullable=False),
    Column("standalone", Text, nullable=False),
    Column("question_key", Text, nullable=False),
    Column("lang", String(16), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("abstained", Integer, nullable=False),
    Column("answer", Text, nullable=False),
    Column("passages", Text, nullable=False),  # JSON list: doc, title, heading, score
    Column("model", Text, nullable=False),
    Column("latency_s", Float),
)
Index("feedback_answers_key", feedback_answers.c.question_key)

feedback_votes = Table(
    "feedback_votes",
    metadata,
    Column(
        "answer_id",
        Integer,
        ForeignKey("feedback_answers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", String(32), primary_key=True, default=""),
    Column("vote", Integer, nullable=False),
    Column("ts", Float, nullable=False),
)

# Usage: one row per answer — who asked where, the route and model, tokens, timings and the
# answer's share of engine time (bot/usage/log.py owns the queries).
answer_usage = Table(
    "answer_usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),  # when the answer ended
    Column("team_id", String(32), nullable=False, default=""),
    Column("user_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("surface", String(16), nullable=False),  # mention | dm | slash | followup
    Column("route", String(16), nullable=False),  # kb | chat (the answerer)
    Column("model", Text, nullable=False),
    Column("outcome", String(32), nullable=False),  # stop | length | cancelled | timeout | ...
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("output_tokens", Integer, nullable=False, default=0),
    Column("queue_wait_s", Float, nullable=False, default=0.0),
    Column("ttft_s", Float),
    Column("engine_total_s", Float, nullable=False, default=0.0),  # submit -> last token
    Column("answer_s", Float, nullable=False, default=0.0),  # the bot's wall time
    Column("engine_s", Float, nullable=False, default=0.0),  # this answer's share of the engine
)
Index("answer_usage_at", answer_usage.c.at)
Index("answer_usage_user_at", answer_usage.c.user_id, answer_usage.c.at)
Index("answer_usage_channel_at", answer_usage.c.channel_id, answer_usage.c.at)

# Each bot process's engine: when it ran and how much of that it was busy (utilisation).
engine_sessions = Table(
    "engine_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("model", Text, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("seen_at", Float, nullable=False),
    Column("busy_s", Float, nullable=False, default=0.0),
    Column("uptime_s", Float, nullable=False, default=0.0),
)

# Answer modes an admin chose in Slack (App Home), on top of CHANNEL_MODES: a channel id, or
# "dm" (every direct message) or "default" (every other channel). kb/route.py reads them.
channel_modes = Table(
    "channel_modes",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("mode", String(16), nullable=False),  # kb | assistant | auto
    Column("set_by", String(32), nullable=False),  # the admin's user id
    Column("set_at", Float, nullable=False),
)
