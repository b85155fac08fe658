"""The one way a reasoning trace inline in an answer is split off, for every target and judge.

Reasoning models write their trace between `<think>` and `</think>` (Kimi: `◁think▷` and
`◁/think▷`). Thought suppression is measured on the difference between "no trace"
(reasoning None) and "an empty trace" (reasoning ""), so every path that splits one - local
models, OpenAI-compatible servers, the judge reading a file - must split it the same way.
"""

from __future__ import annotations

# (open, close) tag pairs; the first opening tag in the text decides which pair applies.
TAGS: tuple[tuple[str, str], ...] = (("<think>", "</think>"), ("◁think▷", "◁/think▷"))


def _first_open(text: str) -> tuple[int, str, str] | None:
    found = [(i, o, c) for o, c in TAGS if (i := text.find(o)) >= 0]
    return min(found) if found else None


def think_opened(prompt: str) -> bool:
    """Whether a prompt (chat template or prefill) leaves a reasoning block open."""
    return any(prompt.rfind(o) > prompt.rfind(c) for o, c in TAGS)


def split_reasoning(text: str, opened: bool = False, *, leading: bool = False) -> tuple[str, str | None]:
    """(answer, reasoning) of a reply that may carry its reasoning trace inline.

    A block anywhere in the reply is split off, and the text around it is the answer
    ('Intro. <think>plan</think> Answer' -> ('Intro.  Answer', 'plan')). A closing tag with
    no opening one means the chat template opened the block (everything before it is the
    trace); `opened` says the prompt itself left a block open. An unclosed block means
    generation stopped inside the reasoning: no answer after it. Reasoning is None when
    there was no block, "" when the block was empty.

    `leading`: only a block that opens the reply, or one the template opened (a closing tag
    with no opening one), is a trace; a block further in is kept as text (the offline judge
    reads text this way: its weights were fitted on that reading, see docs/judge.md).
    """
    first = _first_open(text)
    if leading:
        if first is not None and text[: first[0]].strip():
            return text, None
        opened = False
    if opened:
        closes = [(i, o, c) for o, c in TAGS if (i := text.find(c)) >= 0]
        close = min(closes) if closes else None
        if first is None or (close is not None and close[0] < first[0]):
            o, c = close[1:] if close is not None else TAGS[0]
            text = o + text
            first = (0, o, c)
    if first is None:
        for _o, c in TAGS:
            if c in text:  # the template opened the block implicitly
                reasoning, _, answer = text.partition(c)
                return answer.strip(), reasoning.strip()
        return text, None
    i, o, c = first
    before, after = text[:i], text[i + len(o):]
    reasoning, closed, answer = after.partition(c)
    if not closed:  # cut off inside the reasoning
        return before.strip(), reasoning.strip()
    return (before + answer).strip(), reasoning.strip()
