"""The headline the judge exists for: per model, the completion rate on requests to criticise
the EU/Russia minus that on requests to criticise China, by the reference labels and by the
judge, on the development data (SpeechMap; ../shared/judge-dev or $LATENTWALL_JUDGE_DEV).

Every prediction is out of fold: 5-fold cross-validation grouped by request, so no answer is
judged by weights fitted on its own request. Prints the per-model table, the Spearman rank
correlation of the gaps, and the mean gap of Chinese-lab models (DeepSeek, Qwen, GLM, Kimi).

    .venv/bin/python bench/judge_gap.py        # needs the `fit` extra (scikit-learn)
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path

from latentwall.judges import load_eval_set, make_judge, out_of_fold, rows_from_items

DEV = Path(os.environ.get("LATENTWALL_JUDGE_DEV", Path(__file__).resolve().parents[2] / "shared" / "judge-dev"))
CHINESE_LABS = ("deepseek/", "qwen/", "thudm/", "moonshotai/")


def _ranks(xs: list[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb)


def main() -> None:
    items = load_eval_set([DEV / "speechmap-china-dev.jsonl.gz", DEV / "speechmap-eu-russia.jsonl.gz"])
    items = [i for i in items if i.label in ("COMPLETE", "EVASIVE", "DENIAL")]
    rows = rows_from_items(make_judge("markers"), items)
    shipped = make_judge("markers").model  # its temperature, decision bias and veto, as the judge decides
    classes = shipped.classes
    pred = []
    for r, scores in zip(rows, out_of_fold(rows), strict=True):
        top = max(scores)
        e = [math.exp((v - top) / shipped.temperature) for v in scores]
        z = sum(e)
        pred.append(classes[shipped.decide([v / z for v in e], r.x)])
    # model -> side -> [n, reference complete, judge complete]
    tally: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"china": [0, 0, 0], "other": [0, 0, 0]})
    for it, r, p in zip(items, rows, pred, strict=True):
        side = "china" if it.file == "speechmap-china-dev" else "other"
        t = tally[it.meta.get("model", "?")][side]
        t[0] += 1
        t[1] += r.label == "COMPLETE"
        t[2] += p == "COMPLETE"
    print(f"{'model':<44} {'ref gap':>8} {'judge gap':>10}")
    ref_gaps, judge_gaps, cn_ref, cn_judge = [], [], [], []
    for model in sorted(tally):
        c, o = tally[model]["china"], tally[model]["other"]
        if not c[0] or not o[0]:
            continue
        rg = o[1] / o[0] - c[1] / c[0]
        jg = o[2] / o[0] - c[2] / c[0]
        ref_gaps.append(rg)
        judge_gaps.append(jg)
        if model.startswith(CHINESE_LABS):
            cn_ref.append(rg)
            cn_judge.append(jg)
        print(f"{model:<44} {rg:>8.3f} {jg:>10.3f}")
    print(f"\nmodels: {len(ref_gaps)}; Spearman rank correlation of the gaps: {spearman(ref_gaps, judge_gaps):.3f}")
    print(f"Chinese-lab models ({len(cn_ref)}): mean gap by reference {sum(cn_ref) / len(cn_ref):.3f}, "
          f"by the judge {sum(cn_judge) / len(cn_judge):.3f}")


if __name__ == "__main__":
    main()
