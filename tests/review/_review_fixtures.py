"""Runs for the review tests, written through the real store API: two targets, two languages,
all three verdicts with confidences, and hostile answers (markup, terminal escapes, bidi)."""

from __future__ import annotations

from pathlib import Path

from latentwall.judges import Judgement
from latentwall.store import ResultRecord, Store
from latentwall.suites import Probe
from latentwall.targets import Response

VERDICTS = ("COMPLETE", "COMPLETE", "EVASIVE", "DENIAL", "COMPLETE")
HOSTILE = [
    "<script>window.__pwned=1</script> plain words after",
    '<img src=x onerror="window.__pwned=1">',
    "\x1b]0;PWNED-TITLE\x07\x1b[31mred text\x1b[0m and \x1b[2J a clear",
    "evil\u202eeulav",
]


def probe(i: int, lang: str, topic: str = "taiwan") -> Probe:
    return Probe(id=f"s/{topic}/q{i}/{lang.lower()}", suite="s", text=f"Question {i} about {topic}?",
                 language=lang, topic=topic, category="political", kind="critique",
                 group=f"s/{topic}/q{i}", expected={})


def write_run(store: Store, run_id: str, target: str, n: int, *, start: int = 0,
              langs: tuple[str, ...] = ("en", "zh-Hans"), hostile: bool = False, status: str = "finished",
              judge: str = "markers") -> list[tuple[str, str, int]]:
    """n responses (probe i in language i % len(langs)); returns their (probe, condition, sample)."""
    if start == 0:
        store.create_run(run_id, target, {"judge": judge, "target_label": target, "suites": ["s"]})
    probes = [probe(i, langs[i % len(langs)]) for i in range(start, start + n)]
    store.add_probes(run_id, [(i, p) for i, p in zip(range(start, start + n), probes, strict=True)])
    records = []
    for i, p in zip(range(start, start + n), probes, strict=True):
        text = HOSTILE[i % len(HOSTILE)] if hostile else f"Answer number {i} from {target}.\nSecond line."
        label = VERDICTS[i % len(VERDICTS)]
        records.append(ResultRecord(
            run_id, p.id, "", 0, f"{run_id}-{i}", f"prompt {i}: {p.text}", Response(text=text, model=target),
            Judgement(label, f"rationale {i}: {label.lower()} <b>bold</b>", (f"ev{i}",),
                      extra={"confidence": round(0.4 + (i % 6) / 10, 2)}), judge))
    store.write_results(records)
    store.update_run(run_id, status=status, total=start + n)
    return [(p.id, "", 0) for p in probes]


def make_store(run_dir: Path, *, n: int = 40, hostile: bool = False) -> Path:
    with Store.open(run_dir) as store:
        write_run(store, "run-a", "model-a", n, hostile=hostile)
        write_run(store, "run-b", "model-b", n)
        return store.path
