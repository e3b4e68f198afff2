"""A tiny randomly initialised Llama and a byte-level tokenizer, built in code (no download).

The tokenizer maps every byte to one token, so UTF-8 characters span several tokens
exactly as they do in real byte-level BPE vocabularies.
"""

from __future__ import annotations

from typing import Any

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_byte_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS)}
    for char in _byte_level_alphabet():  # byte order: ids are the same in every process
        vocab[char] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _byte_level_alphabet() -> list[str]:
    """GPT-2's bytes_to_unicode, as a list indexed by byte value."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), 256),
    ]
    chars, extra = [], 0
    for byte in range(256):
        if byte in printable:
            chars.append(chr(byte))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


ARCHITECTURES = ("llama", "qwen2", "qwen3", "mistral", "gemma2", "gemma3_text", "phi3")


def make_tiny_model(
    vocab_size: int,
    *,
    seed: int = 0,
    layers: int = 2,
    hidden: int = 64,
    dtype: str = "float32",
    max_positions: int = 4096,
    architecture: str = "llama",
) -> Any:
    """A tiny random causal LM of one of ARCHITECTURES, with each family's quirks switched on
    (Qwen2 biases, Qwen3 q/k norms, Gemma soft-capping and alternating sliding layers...)."""
    import torch
    import transformers

    common: dict[str, Any] = dict(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    quirks: dict[str, dict[str, Any]] = {
        "llama": {},
        "qwen2": {"use_sliding_window": False},
        "qwen3": {"head_dim": 16, "use_sliding_window": False},
        "mistral": {"sliding_window": max_positions},
        "gemma2": {
            "head_dim": 16,
            "sliding_window": max_positions,
            "final_logit_softcapping": 30.0,
            "attn_logit_softcapping": 50.0,
            "query_pre_attn_scalar": 16,
        },
        "gemma3_text": {
            "head_dim": 16,
            "sliding_window": max_positions,
            "final_logit_softcapping": 30.0,
            "query_pre_attn_scalar": 16,
        },
        "phi3": {"sliding_window": None},
    }
    config = transformers.AutoConfig.for_model(architecture, **common, **quirks[architecture])
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config)
    model = model.to(getattr(torch, dtype)).eval()
    model.generation_config.eos_token_id = 2
    model.generation_config.pad_token_id = 0
    return model
