"""The grounded prompt and the fixed reply strings, in English and Chinese.

Owns what the model is told (answer only from the numbered excerpts, briefly, in the user's
language; say you don't know otherwise) and every template the user may see: lead-ins,
don't-know, the hedge around a closest passage, and the hand-off offer.
"""

from __future__ import annotations

from kb.types import Quote

SYSTEM_PROMPT = (
    "You are a customer support assistant. Answer the question in one short sentence, using "
    "only the facts below from our help articles. Copy numbers, prices, times and codes "
    'exactly. If the facts do not answer the question, say "I don\'t know".'
)
ZH_INSTRUCTION = "请用中文回答。"

TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "lead_in": "Here's what our help articles say:",
        "dont_know": "Sorry, I couldn't find that in our help articles.",
        "hedge": "I couldn't find a definite answer to that in our help articles. "
        "The closest I found:",
        "handoff": "Shall I pass you to a colleague?",
        "handoff_mention": "Shall I ask {mention} to help?",
        "sources": "Sources",
        "not_from_kb": "Not from our help articles: a general answer from the assistant.",
    },
    "zh": {
        "lead_in": "根据我们的帮助文档：",
        "dont_know": "抱歉，我在帮助文档中没有找到相关信息。",
        "hedge": "抱歉，我在帮助文档中没有找到确切的答案。最接近的内容是：",
        "handoff": "需要为您转接人工客服吗？",
        "handoff_mention": "需要我请 {mention} 来协助您吗？",
        "sources": "来源",
        "not_from_kb": "此回答并非来自帮助文档，而是助手的一般性回答。",
    },
}

# Phrases that mark a reply as a don't-know or a hand-off (ours and the model's).
DONT_KNOW_MARKERS = (
    "i don't know",
    "i do not know",
    "i couldn't find",
    "i could not find",
    "not sure",
    "no information",
    "not mentioned",
    "doesn't say",
    "does not say",
    "don't have",
    "pass you to a colleague",
    "ask a human",
    "没有找到",
    "不知道",
    "转接人工",
)


def template(lang: str, key: str) -> str:
    return TEMPLATES.get(lang, TEMPLATES["en"])[key]


def says_dont_know(text: str) -> bool:
    low = text.lower().replace("’", "'")
    return any(marker in low for marker in DONT_KNOW_MARKERS)


def build_messages(question: str, lang: str, quotes: list[Quote]) -> list[dict[str, str]]:
    """Chat messages for the engine: the evidence units of the top passages, then the question.

    A 135M model copies well from a few short facts and drifts on long excerpts, so the
    prompt carries the selected units (verbatim) rather than whole passages."""
    facts = "\n".join(f"- {' '.join(q.text.split())}" for q in quotes)
    ask = f"Facts:\n{facts}\n\nQuestion: {question}"
    if lang == "zh":
        ask += f"\n{ZH_INSTRUCTION}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": ask}]
