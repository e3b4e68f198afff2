"""BotConfig: everything the Slack side is told at start-up, and SettingsError, what it raises
when a setting it needs is missing or refused.

A frozen dataclass with no defaults of its own: the app's settings project it
(`Settings.bot_config()`), so environment names and defaults live in one place. Field names are
the settings' own (SLASH_COMMAND is `slash_command`), and errors name the environment variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

if TYPE_CHECKING:
    from kb.config import KbConfig


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and says what is expected."""


@dataclass(frozen=True, slots=True)
class BotConfig:
    # --- Slack: credentials, mode, the HTTP server -------------------------------------------
    slack_bot_token: SecretStr | None = field(repr=False)
    slack_app_token: SecretStr | None = field(repr=False)
    slack_signing_secret: SecretStr | None = field(repr=False)
    slack_api_url: str
    http_host: str
    port: int
    http_threads: int
    http_connection_limit: int
    http_timeout_s: int
    http_request_timeout_s: float
    http_connection_reserve: int
    # --- which questions, and how they are answered in Slack ---------------------------------
    slash_command: str
    slash_ephemeral: bool
    thread_followups: bool
    allowed_channels: list[str]
    allowed_users: list[str]
    admin_users: list[str]  # exempt from budgets; may stop any answer; see Answer modes
    max_question_chars: int
    dm_history_limit: int
    stream_mode: Literal["auto", "native", "update"]
    stream_update_interval_s: float
    stream_max_age_s: float
    escalation_channel: str
    handoff_mention: str
    channel_modes: str  # the configured modes (App Home marks them as set by config)
    # --- the answer: prompt and sampling -----------------------------------------------------
    system_prompt: str
    max_new_tokens: int
    kb_max_new_tokens: int
    temperature: float
    top_p: float
    repetition_penalty: float
    reply_timeout_s: float
    kb: KbConfig  # opened when kb.kb_dir is set
    # --- durable state and replicas ----------------------------------------------------------
    store_url: str = field(repr=False)  # may carry a password
    replica_lease_s: float
    resume_max_age_s: float
    user_max_in_flight: int
    # --- cost and budgets --------------------------------------------------------------------
    cost_per_hour: float
    cost_currency: str
    user_daily_limit: int
    user_daily_tokens: int
    channel_daily_limit: int
    channel_daily_tokens: int
    # --- operations: metrics and probes, traces (bot/ops) ------------------------------------
    metrics_port: int | None  # None: no /metrics, /healthz, /readyz endpoint
    metrics_host: str
    otel_exporter_otlp_endpoint: str | None  # None: no traces
    otel_service_name: str
    log_message_text: bool  # message text may go into spans
