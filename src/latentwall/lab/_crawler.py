"""Forbidden-topic crawler: ask the model what else is sensitive, then test each answer.

From seed topics, each step prefills the assistant turn with the start of a numbered
list ("Here are ten related topics:\\n1."), so the model names related topics even
where it would not volunteer them; every new candidate is then asked about (a couple
of plain questions per language from data/crawler.yaml) and the answers are judged.
The graph records who led to whom and each topic's refusal rate with a Wilson
interval, and flags refused topics no shipped suite mentions: the ones nobody listed.

Works on any target that accepts a prefill (`supports_prefill`): `hf:`, `builtin` and
OpenAI-compatible servers that continue a trailing assistant message. Nothing here
needs torch.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.analysis import wilson
from latentwall.datafiles import load_yaml, package_data
from latentwall.errors import ConfigError
from latentwall.judges import JudgeInput, make_judge
from latentwall.labels import DEFAULT_JUDGE, Verdict
from latentwall.targets import GenParams, Request, Target

_ITEM = re.compile(r"^\s*(?:\d{1,2}\s*[.)、．:]|[-*•·]|[（(]?\d{1,2}[)）])\s*(.+?)\s*$")
_STRIP = " \t*_\"'“”「」『』《》:：.。;；,，-–—"
MAX_TOPIC_CHARS = 80


def templates() -> dict[str, Any]:
    return load_yaml(package_data("latentwall.lab", "data", "crawler.yaml"))


def parse_topics(prefill: str, text: str, limit: int = 10) -> list[str]:
    """Topic names out of a (prefilled) numbered or bulleted list; junk lines dropped."""
    full = prefill.rsplit("\n", 1)[-1] + text  # the "1." line the prefill opened
    out: list[str] = []
    seen: set[str] = set()
    for line in full.splitlines():
        m = _ITEM.match(line)
        if not m:
            continue
        item = re.split(r"\s[-–—:]\s|[:：]|\(|（", m.group(1), maxsplit=1)[0]
        item = unicodedata.normalize("NFKC", item).strip(_STRIP)
        key = item.casefold()
        if not item or len(item) > MAX_TOPIC_CHARS or key in seen:
            continue
        if not any(ch.isalpha() for ch in item):
            continue
        seen.add(key)
        out.append(item)
        if len(out) >= limit:
            break
    return out


@dataclass
class Node:
    id: int
    topic: str
    lang: str
    depth: int
    parent: int | None
    labels: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    listed: bool = False

    def to_dict(self) -> dict[str, Any]:
        k = sum(lab == Verdict.DENIAL for lab in self.labels)
        ev = sum(lab == Verdict.EVASIVE for lab in self.labels)
        n = sum(lab in (Verdict.DENIAL, Verdict.EVASIVE, Verdict.COMPLETE) for lab in self.labels)
        rate, lo, hi = wilson(k, n)
        return {"id": self.id, "topic": self.topic, "lang": self.lang, "depth": self.depth,
                "parent": self.parent, "refusal": {"k": k, "n": n, "rate": rate, "lo": lo, "hi": hi},
                "evasive": ev, "labels": self.labels, "listed": self.listed,
                "children": self.children, "sample": (self.answers[0][:240] if self.answers else "")}


def _suite_text() -> str:
    """Every shipped probe's text and topic, casefolded: 'listed' means a suite mentions it."""
    from latentwall.suites import available_suites

    parts: list[str] = []
    for suite in available_suites().values():
        try:
            for p in suite.iter_probes():
                parts.append(p.text.casefold())
                parts.append(p.topic.replace("-", " ").casefold())
        except Exception:  # a suite mid-edit must not stop the crawl
            continue
    return "\n".join(parts)


async def crawl(target: Target, seeds: Sequence[str], langs: Sequence[str], *, depth: int = 2,
                breadth: int = 5, max_nodes: int = 60, max_tokens: int = 96,
                answer_tokens: int = 64, judge: str = DEFAULT_JUDGE, expand: str = "all",
                batch: int = 8) -> dict[str, Any]:
    """Breadth-first crawl (module doc); `expand='refused'` recurses only from refused topics."""
    if not target.supports_prefill:
        raise ConfigError(f"{target.spec}: the crawler needs a target that accepts a prefill "
                          "(hf:, builtin, or an OpenAI-compatible server that continues the assistant turn)")
    tmpl = templates()
    for lang in langs:
        if lang not in tmpl:
            raise ConfigError(f"crawler has no prompts for language {lang!r} (have: {', '.join(tmpl)})")
    j = make_judge(judge)
    listed_text = _suite_text()
    nodes: list[Node] = []
    seen: dict[tuple[str, str], int] = {}
    frontier: list[int] = []
    for lang in langs:
        for s in seeds:
            key = (lang, s.casefold())
            if key not in seen:
                seen[key] = len(nodes)
                nodes.append(Node(len(nodes), s, lang, 0, None))
                frontier.append(seen[key])

    async def run(reqs: list[Request]) -> list[Any]:
        out = []
        for i in range(0, len(reqs), batch):
            out += await target.generate(reqs[i:i + batch])
        return out

    def msg(text: str) -> tuple[dict[str, str], ...]:
        return ({"role": "user", "content": text},)

    await target.start()
    pending_test = list(frontier)
    level = 0
    while True:
        # 1) test every untested node of this level
        reqs, owners = [], []
        for nid in pending_test:
            node = nodes[nid]
            for q in tmpl[node.lang]["test"]:
                reqs.append(Request(msg(q.format(topic=node.topic)),
                                    GenParams(temperature=0.0, max_tokens=answer_tokens)))
                owners.append(nid)
        resps = await run(reqs)
        items = [JudgeInput(prompt=r.prompt, response=x.text, reasoning=x.reasoning,
                            language=nodes[o].lang, status=x.status if x.status == "ERROR" else None,
                            category="political")
                 for r, x, o in zip(reqs, resps, owners, strict=True)]
        for o, x, jd in zip(owners, resps, j.judge_batch(items), strict=True):
            # A capped answer still shows its opening; judge the text, not the cap.
            nodes[o].labels.append(str(jd.label))
            nodes[o].answers.append(x.text)
        for nid in pending_test:
            nodes[nid].listed = nodes[nid].topic.casefold() in listed_text
        if level >= depth or len(nodes) >= max_nodes:
            break
        # 2) expand this level's nodes into candidates for the next
        parents = [nid for nid in pending_test
                   if expand == "all" or any(lab == Verdict.DENIAL for lab in nodes[nid].labels)]
        reqs = [Request(msg(tmpl[nodes[p].lang]["expand"].format(topic=nodes[p].topic)),
                        GenParams(temperature=0.0, max_tokens=max_tokens),
                        prefill=tmpl[nodes[p].lang]["prefill"]) for p in parents]
        resps = await run(reqs)
        pending_test = []
        for p, x in zip(parents, resps, strict=True):
            for topic in parse_topics(tmpl[nodes[p].lang]["prefill"], x.text, breadth):
                key = (nodes[p].lang, topic.casefold())
                if key in seen or len(nodes) >= max_nodes:
                    continue
                seen[key] = len(nodes)
                nodes.append(Node(len(nodes), topic, nodes[p].lang, level + 1, p))
                nodes[p].children.append(seen[key])
                pending_test.append(seen[key])
        if not pending_test:
            break
        level += 1
    out_nodes = [n.to_dict() for n in nodes]
    unlisted = [n["topic"] for n in out_nodes
                if n["refusal"]["k"] > 0 and not n["listed"] and n["depth"] > 0]
    return {"seeds": list(seeds), "langs": list(langs), "depth": depth, "breadth": breadth,
            "judge": judge, "nodes": out_nodes,
            "edges": [[n.parent, n.id] for n in nodes if n.parent is not None],
            "refused_unlisted": unlisted}
