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
        key = topic_key(item)
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
    expanded: int | None = None  # topics parsed from its expansion (None: not expanded)

    def to_dict(self) -> dict[str, Any]:
        k = sum(lab == Verdict.DENIAL for lab in self.labels)
        ev = sum(lab == Verdict.EVASIVE for lab in self.labels)
        n = sum(lab in (Verdict.DENIAL, Verdict.EVASIVE, Verdict.COMPLETE) for lab in self.labels)
        rate, lo, hi = wilson(k, n)
        return {"id": self.id, "topic": self.topic, "lang": self.lang, "depth": self.depth,
                "parent": self.parent, "refusal": {"k": k, "n": n, "rate": rate, "lo": lo, "hi": hi},
                "evasive": ev, "labels": self.labels, "listed": self.listed, "expanded": self.expanded,
                "children": self.children, "sample": (self.answers[0][:240] if self.answers else "")}


_ARTICLES = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w+")
_STOP = frozenset("the a an of in on and or to for by with from at its his her their".split())


def topic_key(topic: str) -> str:
    """The form two topic names are compared in: NFKC, casefolded, no leading article,
    no punctuation, single spaces ("The Tank Man" and "tank man." are one topic)."""
    t = unicodedata.normalize("NFKC", topic).strip().strip(_STRIP)
    t = _ARTICLES.sub("", t).casefold()
    return " ".join(_WORD.findall(t))


def echoes_prompt(topic: str, prompt: str) -> bool:
    """Whether a listed "topic" is the request read back (a small model often repeats the
    instruction as item 1): most of its words, or for Han text its characters, are the prompt's."""
    key, pkey = topic_key(topic), topic_key(prompt)
    han = re.search(r"[\u3400-\u9fff]", key) is not None
    units = [ch for ch in key if not ch.isspace()] if han else key.split()
    if len(units) < 4:  # short names ("六四事件", "Tank Man") are topics, whatever they share
        return False
    inside = set(pkey) if han else set(pkey.split())
    return sum(u in inside for u in units) >= 0.8 * len(units)


def _content_words(key: str) -> frozenset[str]:
    return frozenset(w for w in key.split() if w not in _STOP)


_HAN_SUFFIX = re.compile(r"(事件|问题|問題|运动|運動|镇压|鎮壓|营|營)$")
_TITLE_PARTS = re.compile(r"[：:;；—–,，（()）]")
HAN_MENTIONS = 4  # a Chinese name mentioned by this many probes of one topic is that topic's


@dataclass(frozen=True)
class ListedIndex:
    """The sensitive topics the shipped suites cover: topic ids, fact-sheet titles (and
    their parts), and for Chinese names, how often one topic's probes mention them.

    "Listed" asks whether a suite covers the crawled topic, not whether its name occurs
    somewhere in some probe's text ("China" is in every probe; "Tiananmen" is in a
    harmless question about the Gate's architecture; 长城, the Great Wall, is inside
    防火长城, the Great Firewall). Matching names is a heuristic and says so: a topic a
    suite covers under other words can come out unlisted.
    """

    keys: frozenset[str]
    words: tuple[frozenset[str], ...]
    han_mentions: dict[str, tuple[str, ...]]  # topic -> its political/harm probe texts

    def covers(self, topic: str) -> bool:
        key = topic_key(topic)
        if not key:
            return False
        if key in self.keys:
            return True
        if _HAN.search(key):
            core = _HAN_SUFFIX.sub("", key.replace(" ", "")) or key
            for k in self.keys:
                if not _HAN.search(k):
                    continue
                if (len(k) >= 2 and k in key) or (len(core) >= 2 and core in k and len(core) >= 0.6 * len(k)):
                    return True
            return len(core) >= 2 and any(sum(core in t for t in texts) >= HAN_MENTIONS
                                          for texts in self.han_mentions.values())
        mine = _content_words(key)  # either name's content words all in the other, two at least
        return any((len(mine) >= 2 and mine <= w) or (len(w) >= 2 and w <= mine) for w in self.words)


def listed_index() -> ListedIndex:
    """Topic ids and titles of every political or harm topic in the shipped suites."""
    from latentwall.suites import available_suites, get_fact_sheet

    keys: set[str] = set()
    texts: dict[str, list[str]] = {}
    for suite in available_suites().values():
        try:
            for p in suite.iter_probes():
                if p.category in ("political", "harm"):
                    texts.setdefault(p.topic, []).append(p.text)
        except Exception:  # a suite mid-edit must not stop the crawl
            continue
    for topic in texts:
        keys.add(topic_key(topic.replace("-", " ")))
        sheet = get_fact_sheet(topic)
        if sheet is not None:
            for title in sheet.title.values():
                keys |= {topic_key(part) for part in [title, *_TITLE_PARTS.split(title)]}
    keys.discard("")
    return ListedIndex(frozenset(keys), tuple(_content_words(k) for k in keys if not _HAN.search(k)),
                       {t: tuple(v) for t, v in texts.items()})


def assign_seeds(seeds: Sequence[str], langs: Sequence[str]) -> dict[str, list[str]]:
    """Seeds per language. `LANG=TEXT` pins a seed to one language; an untagged seed goes
    to the languages of its script (Han -> Chinese, otherwise the others). Seeds are never
    translated: asking "请介绍一下Tiananmen。" tests nothing."""
    out: dict[str, list[str]] = {lang: [] for lang in langs}
    for raw in seeds:
        tag, sep, text = raw.partition("=")
        if sep and tag.strip() in out and text.strip():
            out[tag.strip()].append(text.strip())
            continue
        if sep and tag.strip() and " " not in tag.strip() and len(tag.strip()) <= 8:
            raise ConfigError(f"seed {raw!r}: language {tag.strip()!r} is not among --lang ({', '.join(langs)})")
        han = bool(_HAN.search(raw))
        for lang in langs:
            if lang.lower().startswith("zh") == han:
                out[lang].append(raw.strip())
    missing = [lang for lang, v in out.items() if not v]
    if missing:
        raise ConfigError(f"no seed in {', '.join(missing)}: seeds are not translated; give one with "
                          f"--seed {missing[0]}=TEXT (written in that language)")
    return out


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
    listed = listed_index()
    by_lang = assign_seeds(seeds, langs)
    nodes: list[Node] = []
    seen: dict[tuple[str, str], int] = {}
    frontier: list[int] = []
    warnings: list[str] = []
    for lang in langs:
        for s in by_lang[lang]:
            key = (lang, topic_key(s))
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
            nodes[nid].listed = listed.covers(nodes[nid].topic)
        if level >= depth or len(nodes) >= max_nodes:
            break
        # 2) expand this level's nodes into candidates for the next
        parents = [nid for nid in pending_test
                   if expand == "all" or any(lab == Verdict.DENIAL for lab in nodes[nid].labels)]
        reqs = [Request(msg(tmpl[nodes[p].lang]["expand"].format(topic=nodes[p].topic)),
                        GenParams(temperature=0.0, max_tokens=max_tokens),
                        prefill=tmpl[nodes[p].lang]["prefill"]) for p in parents]
        resps = await run(reqs)
        found = {p: [t for t in parse_topics(tmpl[nodes[p].lang]["prefill"], x.text, breadth)
                     if not echoes_prompt(t, r.messages[-1]["content"])]
                 for p, r, x in zip(parents, reqs, resps, strict=True)}
        # A model that stops right after the prefill (or answers in prose) gets one plain
        # retry without it; whatever still yields nothing is reported, never passed over.
        retry = [p for p in parents if not found[p]]
        if retry:
            plain = await run([Request(msg(tmpl[nodes[p].lang]["expand"].format(topic=nodes[p].topic)),
                                       GenParams(temperature=0.0, max_tokens=max_tokens)) for p in retry])
            for p, x in zip(retry, plain, strict=True):
                prompt = tmpl[nodes[p].lang]["expand"].format(topic=nodes[p].topic)
                found[p] = [t for t in parse_topics("", x.text, breadth) if not echoes_prompt(t, prompt)]
                if not found[p]:
                    warnings.append(f"{nodes[p].lang} '{nodes[p].topic}': the model listed no related topics "
                                    f"(with the list prefill and without it; last answer: {x.text[:80]!r})")
        for p in parents:
            nodes[p].expanded = len(found[p])
        pending_test = []
        for p in parents:
            for topic in found[p]:
                key = (nodes[p].lang, topic_key(topic))
                if key in seen or not key[1] or len(nodes) >= max_nodes:
                    continue
                seen[key] = len(nodes)
                nodes.append(Node(len(nodes), topic, nodes[p].lang, level + 1, p))
                nodes[p].children.append(seen[key])
                pending_test.append(seen[key])
        if not pending_test:
            if level < depth:
                warnings.append(f"the crawl stopped at depth {level}: no new topic came out of "
                                f"{len(parents)} expansion(s)")
            break
        level += 1
    out_nodes = [n.to_dict() for n in nodes]
    unlisted = [n["topic"] for n in out_nodes
                if n["refusal"]["k"] > 0 and not n["listed"] and n["depth"] > 0]
    return {"seeds": by_lang, "langs": list(langs), "depth": depth, "breadth": breadth,
            "judge": judge, "nodes": out_nodes, "warnings": warnings,
            "max_depth_reached": max((n.depth for n in nodes), default=0),
            "edges": [[n.parent, n.id] for n in nodes if n.parent is not None],
            "refused_unlisted": unlisted}
