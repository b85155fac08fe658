"""Issue 11 defect: the two `split_reasoning`s disagreed.

The local-model targets (hf, llama.cpp) split a `<think>` block anywhere in the reply; the
openai target split only one that opened the reply, so 'Intro. <think>plan</think> Answer'
kept its trace inside the answer and lost its reasoning (None: "no trace"), which thought
suppression reads as a suppressed trace. One function now serves every target; the openai
target is checked over real HTTP against the shared function the local targets call.
"""

from __future__ import annotations

import asyncio

import pytest

from latentwall.targets import Request, make_target, split_reasoning
from latentwall.testing import FakeOpenAIServer

CASES = [
    ("Intro. <think>plan</think> Answer", ("Intro.  Answer", "plan")),
    ("<think>plan</think>Answer", ("Answer", "plan")),
    ("Intro. <think></think> Answer", ("Intro.  Answer", "")),
    ("Intro. <think>cut off", ("Intro.", "cut off")),
    ("plan</think>Answer", ("Answer", "plan")),
    ("◁think▷plan◁/think▷Answer", ("Answer", "plan")),
    ("No trace at all.", ("No trace at all.", None)),
]


@pytest.mark.parametrize(("content", "expected"), CASES)
def test_one_split_for_every_target(content, expected):
    assert split_reasoning(content) == expected

    async def ask() -> tuple[str | None, str | None]:
        target = make_target(f"openai:fake@{srv.base_url}", backoff=0.01)
        await target.start()
        try:
            (resp,) = await target.generate([Request(messages=({"role": "user", "content": "Q?"},))])
        finally:
            await target.close()
        return resp.text, resp.reasoning

    with FakeOpenAIServer(responder=lambda _messages: content) as srv:
        assert asyncio.run(ask()) == expected
