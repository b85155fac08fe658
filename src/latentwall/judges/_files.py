"""Judging a file: `latentwall judge IN.jsonl -o OUT.jsonl` and the checks `eval-judge` runs
on a labelled file before it scores a judge on it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from latentwall.datafiles import iter_jsonl
from latentwall.errors import ConfigError, DataError, LatentwallError
from latentwall.judges._base import JudgeInput, make_judge
from latentwall.text import json_line, repaired_note

BATCH = 256


def read_judge_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a judge input file, checked; lone surrogates are replaced and the row says so
    in `notes`. A file with no rows is an error, not an empty result."""
    if not path.is_file():
        raise ConfigError(f"input file not found: {path}")
    repairs: list[tuple[int, int]] = []
    n = 0
    for line, obj in iter_jsonl(path, repairs=repairs):
        for fld in ("prompt", "response"):
            if not isinstance(obj.get(fld), str):
                raise DataError(str(path), line, fld, "is required and must be a string")
        for fld in ("reasoning", "language", "id"):
            if obj.get(fld) is not None and not isinstance(obj[fld], str | int):
                raise DataError(str(path), line, fld, "must be a string")
        for fld in ("status", "finish_reason", "category"):
            if obj.get(fld) is not None and not isinstance(obj[fld], str):
                raise DataError(str(path), line, fld, "must be a string")
        if repairs and repairs[-1][0] == line:
            obj["notes"] = [*obj.get("notes", []), repaired_note(repairs[-1][1])] \
                if isinstance(obj.get("notes", []), list) else [repaired_note(repairs[-1][1])]
        n += 1
        yield line, obj
    if n == 0:
        raise DataError(str(path), None, None, "no rows to judge (the file is empty)")


def judge_file(inp: Path, outp: Path, judge_name: str) -> tuple[int, dict[str, int]]:
    """Label every row of `inp` and write each row plus label, rationale, evidence, judge (and
    confidence, truncated, review when the judge gives them) to `outp`, which appears only
    when complete. Returns (rows, counts by label)."""
    if inp.resolve() == outp.resolve():
        raise ConfigError("output must differ from input")
    judge = make_judge(judge_name)
    counts: dict[str, int] = {}

    async def go() -> int:
        n = 0
        tmp = outp.with_name(outp.name + ".part")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                batch: list[dict[str, Any]] = []

                async def flush() -> None:
                    items = [
                        JudgeInput(
                            prompt=r["prompt"], response=r["response"], reasoning=r.get("reasoning"),
                            language=r.get("language"), status=r.get("status"),
                            finish_reason=r.get("finish_reason"), category=r.get("category"),
                        )
                        for r in batch
                    ]
                    for r, j in zip(batch, await judge.ajudge_batch(items), strict=True):
                        r = {**r, "label": str(j.label), "rationale": j.rationale,
                             "evidence": list(j.evidence), "judge": judge_name}
                        for key in ("confidence", "truncated", "review"):
                            if key in j.extra:
                                r[key] = j.extra[key]
                        counts[r["label"]] = counts.get(r["label"], 0) + 1
                        fh.write(json_line(r, allow_nan=True))
                    batch.clear()

                for _, row in read_judge_rows(inp):
                    batch.append(row)
                    n += 1
                    if len(batch) >= BATCH:
                        await flush()
                if batch:
                    await flush()
            tmp.replace(outp)
        except OSError as exc:
            raise LatentwallError(f"cannot write {outp}: {exc.strerror}") from None
        finally:
            tmp.unlink(missing_ok=True)
            await judge.close()
        return n

    n = asyncio.run(go())
    return n, counts


def check_eval_file(path: Path) -> None:
    """An eval file must exist and hold labelled rows: an empty set would score 0% and exit 0."""
    if not path.is_file():
        raise ConfigError(f"eval file not found: {path}")
    rows = iter_jsonl(path)
    empty = next(rows, None) is None
    rows.close()
    if empty:
        raise DataError(str(path), None, None, "no labelled rows (the file is empty)")
