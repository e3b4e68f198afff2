"""Slack's size limits for message content: blocks, markdown_text, text, streaming chunks.

Pure checks that return a problem (a kind and a human-readable detail) or None; the Web API
turns the kind into the error code the method documents, and the contract checker into a
violation message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # modals and Home tabs
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_MARKDOWN_BLOCKS_TOTAL = 12_000
MAX_MARKDOWN_TEXT = 12_000
MAX_BLOCK_ID = 255
MAX_ACTION_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_ACTIONS_ELEMENTS = 5
MAX_TEXT = 40_000  # longer text is truncated by chat.postMessage
CHUNK_TYPES = frozenset({"markdown_text", "task_update", "plan_update", "blocks"})

ProblemKind = Literal["format", "too_many", "invalid"]


@dataclass(frozen=True)
class BlockProblem:
    kind: ProblemKind
    detail: str


def block_problem(blocks: Any, max_blocks: int = MAX_BLOCKS) -> BlockProblem | None:
    """What is wrong with a `blocks` argument (a message's, or a view's with MAX_VIEW_BLOCKS)."""
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return BlockProblem("format", "blocks must be a JSON array of objects")
    if len(blocks) > max_blocks:
        return BlockProblem("too_many", f"{len(blocks)} blocks (max {max_blocks})")
    markdown_total = 0
    for i, block in enumerate(blocks):
        kind = block.get("type")
        where = f"blocks[{i}] ({kind})"
        if not isinstance(kind, str):
            return BlockProblem("invalid", f"blocks[{i}] has no type")
        if len(str(block.get("block_id", ""))) > MAX_BLOCK_ID:
            return BlockProblem("invalid", f"{where}: block_id longer than {MAX_BLOCK_ID}")
        if kind == "section":
            text = _text_of(block.get("text"))
            if len(text) > MAX_SECTION_TEXT:
                return BlockProblem("invalid", f"{where}: text {len(text)} > {MAX_SECTION_TEXT}")
            if "text" not in block and "fields" not in block:
                return BlockProblem("invalid", f"{where}: needs text or fields")
            if len(block.get("fields") or []) > MAX_SECTION_FIELDS:
                return BlockProblem("invalid", f"{where}: more than {MAX_SECTION_FIELDS} fields")
        elif kind == "header":
            text = _text_of(block.get("text"))
            if not text or len(text) > MAX_HEADER_TEXT:
                return BlockProblem("invalid", f"{where}: text must be 1..{MAX_HEADER_TEXT} chars")
        elif kind == "markdown":
            text = block.get("text")
            if not isinstance(text, str):
                return BlockProblem("invalid", f"{where}: text must be a string")
            markdown_total += len(text)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= MAX_ACTION_ELEMENTS:
                return BlockProblem("invalid", f"{where}: 1..{MAX_ACTION_ELEMENTS} elements")
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= MAX_CONTEXT_ELEMENTS:
                return BlockProblem("invalid", f"{where}: 1..{MAX_CONTEXT_ELEMENTS} elements")
        elif kind == "context_actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not (
                0 < len(elements) <= MAX_CONTEXT_ACTIONS_ELEMENTS
            ):
                return BlockProblem(
                    "invalid", f"{where}: 1..{MAX_CONTEXT_ACTIONS_ELEMENTS} elements"
                )
    if markdown_total > MAX_MARKDOWN_BLOCKS_TOTAL:
        return BlockProblem(
            "invalid",
            f"markdown blocks total {markdown_total} chars (max {MAX_MARKDOWN_BLOCKS_TOTAL})",
        )
    return None


def chunks_problem(chunks: Any) -> str | None:
    """What is wrong with a streaming `chunks` argument, if anything."""
    if not isinstance(chunks, list) or not all(isinstance(c, dict) for c in chunks):
        return "chunks must be a JSON array of objects"
    for i, chunk in enumerate(chunks):
        if chunk.get("type") not in CHUNK_TYPES:
            return f"chunks[{i}]: unknown type {chunk.get('type')!r}"
        if chunk["type"] == "markdown_text":
            text = chunk.get("text")
            if not isinstance(text, str):
                return f"chunks[{i}]: markdown_text chunk needs a text string"
            if len(text) > MAX_MARKDOWN_TEXT:
                return f"chunks[{i}]: text {len(text)} > {MAX_MARKDOWN_TEXT}"
    return None


def markdown_of_chunks(chunks: list[dict[str, Any]]) -> str:
    return "".join(c.get("text", "") for c in chunks if c.get("type") == "markdown_text")


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)
