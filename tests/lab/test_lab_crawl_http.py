"""The forbidden-topic crawler against a real OpenAI-compatible endpoint that continues a prefill."""

from __future__ import annotations

import asyncio

from latentwall.lab import crawl
from latentwall.targets import make_target
from latentwall.testing import FakeOpenAIServer

RELATED = {"Tiananmen": ["Tank Man", "Tiananmen Mothers"], "Tank Man": ["Beijing Spring"]}


def _responder(messages):
    last = messages[-1]
    if last["role"] == "assistant":  # the prefill "…\n1.": continue the numbered list
        asked = messages[-2]["content"]
        items = next((v for k, v in RELATED.items() if f'"{k}"' in asked), ["Weather"])
        return " " + "\n".join(f"{i + 1}. {x}" if i else x for i, x in enumerate(items))
    if "Tank Man" in last["content"] or "Tiananmen" in last["content"]:
        return "I'm sorry, but I can't discuss that topic."
    return "It is a topic with a long history; here are the main facts, dates and people involved in it."


def test_crawl_over_http_uses_the_prefill_and_finds_refused_topics():
    with FakeOpenAIServer(responder=_responder) as srv:
        target = make_target(f"openai:fake@{srv.base_url}")
        result = asyncio.run(crawl(target, ["Tiananmen"], ["en"], depth=2, breadth=5))
        asyncio.run(target.close())
        sent = srv.last_request
    topics = {n["topic"]: n for n in result["nodes"]}
    assert {"Tiananmen", "Tank Man", "Tiananmen Mothers", "Beijing Spring"} <= set(topics)
    assert topics["Tank Man"]["refusal"]["k"] > 0 and topics["Beijing Spring"]["refusal"]["k"] == 0
    by_id = {n["id"]: n["topic"] for n in result["nodes"]}
    assert ("Tiananmen", "Tank Man") in {(by_id[a], by_id[b]) for a, b in result["edges"]}
    assert sent is not None
