"""Slack messages to chat turns, and trimming to the context window."""

from __future__ import annotations

from bot.answer.conversation import build_conversation, clean_text, fit_to_window
from bot.types import BotIdentity

BOT = BotIdentity(user_id="UBOT", bot_id="BBOT", team_id="T1")
NAMES = {"UADA": "Ada", "UGRACE": "Grace"}


def msg(ts: str, user: str, text: str, **extra: object) -> dict[str, object]:
    return {"type": "message", "ts": f"1700000000.{ts:0>6}", "user": user, "text": text, **extra}


def test_roles_names_mentions_and_files() -> None:
    messages = [
        msg(
            "1",
            "UADA",
            "<@UBOT> my bike &amp; my <https://x.com|helmet>, ask <@UGRACE>",
            files=[{"name": "photo.jpg", "pretty_type": "JPEG"}],
        ),
        msg("2", "UBOT", "Here is an answer", bot_id="BBOT"),
        msg("3", "UOTTER", "beep", bot_id="BOTTER", bot_profile={"name": "Otterbot"}),
        msg("4", "UGRACE", "", attachments=[{"fallback": "a shared link"}]),
        msg("5", "UADA", "joined", subtype="channel_join"),
        msg("6", "UADA", "<@UBOT> thanks, and?"),
        msg("7", "UGRACE", "a later message"),
    ]
    conversation = build_conversation(
        messages, bot=BOT, question_ts="1700000000.000006", names=NAMES
    )
    assert conversation.turns == [
        {
            "role": "user",
            "content": "Ada: my bike & my helmet (https://x.com), ask @Grace\n"
            "[attached file: photo.jpg (JPEG)]",
        },
        {"role": "assistant", "content": "Here is an answer"},
        {"role": "user", "content": "Otterbot: beep"},
        {"role": "user", "content": "Grace: [attachment: a shared link]"},
        {"role": "user", "content": "Ada: thanks, and?"},
    ]
    assert conversation.question == "thanks, and?"
    assert conversation.history[1] == {"role": "assistant", "content": "Here is an answer"}
    assert conversation.history[0]["content"].startswith("my bike")  # no name prefix


def test_our_notices_are_left_out_and_answer_parts_joined() -> None:
    messages = [
        msg("1", "UADA", "q1"),
        msg("2", "UBOT", "part one, ", bot_id="BBOT"),
        msg("3", "UBOT", "part two", bot_id="BBOT"),
        msg(
            "4",
            "UBOT",
            "I'm busy",
            bot_id="BBOT",
            metadata={"event_type": "deskhand_notice", "event_payload": {}},
        ),
        msg("5", "UADA", "q2"),
    ]
    turns = build_conversation(
        messages, bot=BOT, question_ts="1700000000.000005", names=NAMES
    ).turns
    assert [t["content"] for t in turns] == ["Ada: q1", "part one,\npart two", "Ada: q2"]


def test_clean_text_spells_out_slack_markup() -> None:
    text = "<@UBOT> see <#C1|general>, <!here> &lt;3 <mailto:a@b.c|mail>"
    assert (
        clean_text(text, bot_user_id="UBOT", names={})
        == "see #general, @here <3 mail (mailto:a@b.c)"
    )


def count_chars(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) + 4 for m in messages)


def test_trimming_drops_the_oldest_but_keeps_the_first_and_the_question() -> None:
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "x" * 40}
        for i in range(10)
    ]
    system = {"role": "system", "content": "be brief"}
    messages, omitted = fit_to_window(system, turns, count_chars, budget=200)
    assert messages[0] == system and messages[1] == turns[0] and messages[-1] == turns[-1]
    assert count_chars(messages) <= 200
    assert omitted == 10 - (len(messages) - 1)
    assert [m["content"] for m in messages[2:-1]] == [
        t["content"] for t in turns[-1 - (len(messages) - 3) : -1]
    ]  # the most recent turns are the ones kept


def test_a_question_too_long_for_the_window_is_shortened_not_dropped() -> None:
    turns = [{"role": "user", "content": "first " * 50}, {"role": "user", "content": "q " * 200}]
    messages, omitted = fit_to_window(None, turns, count_chars, budget=300)
    assert omitted == 0 and count_chars(messages) <= 300
    assert messages[-1]["content"].startswith("q q")
    assert messages[0]["content"].endswith("…")


def test_everything_fits_nothing_dropped() -> None:
    turns = [{"role": "user", "content": "hi"}]
    assert fit_to_window(None, turns, count_chars, budget=100) == (turns, 0)


def test_trimming_a_long_thread_tokenizes_each_turn_about_once() -> None:
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "y" * 400}
        for i in range(1_000)
    ]
    system = {"role": "system", "content": "be brief"}
    seen: list[int] = []

    def counting(messages: list[dict[str, str]]) -> int:
        seen.append(sum(len(m["content"]) for m in messages))
        return count_chars(messages)

    budget = 20 * 420
    messages, omitted = fit_to_window(system, turns, counting, budget=budget)
    assert count_chars(messages) <= budget and omitted > 900
    assert messages[1] == turns[0] and messages[-1] == turns[-1]
    assert messages[-2] == turns[-2]  # the newest middle turns are kept
    everything = sum(len(t["content"]) for t in turns)
    # once per turn (next to the system prompt), then one count of the chosen prompt
    assert sum(seen) <= everything + len(turns) * len("be brief") + budget
    assert len(seen) <= len(turns) + 3


def test_trimming_rechecks_a_template_that_is_not_additive() -> None:
    turns = [{"role": "user", "content": f"turn {i} " + "z" * 40} for i in range(50)]

    def quadratic(messages: list[dict[str, str]]) -> int:  # grows faster than the sum
        return count_chars(messages) + 3 * len(messages) ** 2

    messages, omitted = fit_to_window(None, turns, quadratic, budget=600)
    assert quadratic(messages) <= 600
    assert messages[0] == turns[0] and messages[-1] == turns[-1] and omitted > 0


def test_many_short_turns_are_measured_in_chunks() -> None:
    turns = [{"role": "user", "content": f"ok {i:04d} " + "t" * 30} for i in range(1_000)]
    calls: list[int] = []

    def counting(messages: list[dict[str, str]]) -> int:
        calls.append(len(messages))
        return count_chars(messages)

    messages, omitted = fit_to_window(None, turns, counting, budget=2_000)
    assert count_chars(messages) <= 2_000 and messages[-2] == turns[-2]
    assert count_chars([*messages, turns[-len(messages) - 1]]) > 2_000  # no room was wasted
    assert omitted == 1_000 - len(messages)
    assert len(calls) < 80  # not one call per turn


def test_a_thread_far_longer_than_the_window_is_not_all_measured() -> None:
    turns = [{"role": "user", "content": f"turn {i} " + "w" * 2_000} for i in range(500)]
    seen: list[int] = []

    def counting(messages: list[dict[str, str]]) -> int:
        seen.append(sum(len(m["content"]) for m in messages))
        return sum(len(m["content"]) // 4 + 4 for m in messages)

    messages, _ = fit_to_window(None, turns, counting, budget=4_000)
    assert sum(len(m["content"]) // 4 + 4 for m in messages) <= 4_000
    assert sum(seen) < 4 * 4_000 * 8  # about the window's worth of text, not 1 MB
