"""Command handlers. Heavy imports stay inside handlers so `latentwall --help` is instant."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from latentwall._text import json_line, terminal_text
from latentwall.cli._main import default_run_dir
from latentwall.errors import ConfigError, DataError, LatentwallError

# The terminal shows the coarse breakdown; the report and --json carry topics too.
TERMINAL_BY = ("target", "suite", "language")
BY_FIELDS = {"target", "run_id", "suite", "topic", "language", "category", "kind", "jurisdiction",
             "condition", "group", "risk_code", "hazard"}


def _out() -> Console:
    return Console(soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, soft_wrap=True)


_clean = terminal_text


def _print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; tab-separated lines when piped, so scripts can cut them."""
    if sys.stdout.isatty():
        table = Table(title=escape(_clean(title)))
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*(escape(_clean(c)) for c in row))
        _out().print(table)
    else:
        print("\t".join(columns))
        for row in rows:
            print("\t".join(_clean(c).replace("\t", " ") for c in row))


# -- runs and their rows ------------------------------------------------------------------


class _RunRef:
    """A run inside some store: what reports, summaries and compare read."""

    def __init__(self, store_path: Path, run: dict[str, Any]) -> None:
        self.store_path = store_path
        self.run = run

    def meta(self, counts: dict[str, int]) -> dict[str, Any]:
        cfg = self.run["config"]
        return {
            "run_id": self.run["run_id"], "target": cfg.get("target_label") or self.run["target"],
            "suites": cfg.get("suites", []), "languages": cfg.get("languages"),
            "samples": cfg.get("samples", 1), "params": cfg.get("params", {}),
            "judge": cfg.get("judge", "markers"), "created": self.run["created"],
            "finished": self.run.get("finished"), "status": self.run["status"],
            "latentwall_version": cfg.get("latentwall_version"),
            "target_info": self.run.get("target_info", {}), "counts": counts,
            "limit": cfg.get("limit"), "total": self.run.get("total"), "store": str(self.store_path),
        }

    def rows(self) -> Iterator[dict[str, Any]]:
        from latentwall.store import Store

        store = Store(self.store_path, readonly=True)
        try:
            yield from store.iter_results(self.run["run_id"])
        finally:
            store.close()

    def stance_rows(self) -> Iterator[dict[str, Any]]:
        """Rows with narrative stance: an earlier LLM stance pass where one exists, else offline."""
        from latentwall.analysis import load_stance, stance_rows
        from latentwall.analysis._stance import STANCE_LLM_JUDGE
        from latentwall.store import Store

        with Store(self.store_path, readonly=True) as store:
            has_llm = STANCE_LLM_JUDGE in store.judges_of(self.run["run_id"])
            stored = load_stance(store, self.run["run_id"]) if has_llm else None
        return stance_rows(self.rows(), stored=stored)

    def counts(self) -> dict[str, int]:
        from latentwall.store import Store

        with Store(self.store_path, readonly=True) as store:
            return store.counts(self.run["run_id"])


def _resolve_runs(refs: list[str], run_dir: str | None) -> list[_RunRef]:
    from latentwall.store import DB_NAME, Store

    base = Path(run_dir or default_run_dir())
    out: list[_RunRef] = []

    def all_in(db: Path) -> list[_RunRef]:
        with Store(db, readonly=True) as store:
            return [_RunRef(db, r) for r in store.list_runs()]

    if not refs:
        db = base / DB_NAME
        if not db.exists():
            raise ConfigError(f"no runs in {base} (run `latentwall run` first, or pass --run-dir)")
        out = all_in(db)
    for ref in refs:
        p = Path(ref)
        if p.is_dir() and (p / DB_NAME).exists():
            out += all_in(p / DB_NAME)
        elif p.is_file() and p.suffix == ".db":
            out += all_in(p)
        else:
            db = base / DB_NAME
            if not db.exists():
                raise ConfigError(f"'{ref}' is not a run directory, and {base} holds no runs")
            with Store(db, readonly=True) as store:
                found = store.find_runs(ref)
            if not found:
                raise ConfigError(f"no run '{ref}' in {base} (see `latentwall runs --run-dir {base}`)")
            if len(found) > 1 and found[0]["run_id"] != ref:
                ids = ", ".join(r["run_id"] for r in found[:5])
                raise ConfigError(f"'{ref}' matches several runs: {ids}")
            out += [_RunRef(db, found[0])]
    if not out:
        raise ConfigError("no runs to read")
    return out


# -- run ----------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from latentwall.runner import PlainProgress, ProgressSink, RichProgress, RunConfig, run_audit
    from latentwall.targets import GenParams
    from latentwall.targets._openai import MAX_CONCURRENCY

    options: dict[str, Any] = {}
    for name, lo, hi in (("concurrency", 1, MAX_CONCURRENCY), ("batch_size", 1, 4096),
                         ("timeout", 0.001, 86_400), ("retries", 0, 100), ("max_response_mb", 0.001, 2048)):
        val = getattr(args, name)
        if val is not None:
            if not (math.isfinite(val) and lo <= val <= hi):
                raise ConfigError(f"--{name.replace('_', '-')} must be between {lo:g} and {hi:g}, got {val:g}")
            options[name] = val
    if "max_response_mb" in options:
        options["max_response_bytes"] = max(1024, int(options.pop("max_response_mb") * (1 << 20)))
    for key, value in _pairs(args.target_option, "--target-option").items():
        options[key.replace("-", "_")] = value
    conditions = [] if args.no_plain else [""]
    for item in args.strategy:
        conditions += [c.strip() for c in item.split(",") if c.strip()]
    conditions += [f"locale:{place}" for place in args.locale]
    config = RunConfig(
        conditions=conditions, guard=args.guard,
        target=args.target, suites=args.suite, languages=args.lang, limit=args.limit,
        samples=args.samples,
        params=GenParams(args.temperature, args.top_p, args.max_tokens, args.seed),
        judge=args.judge, run_dir=Path(args.run_dir or default_run_dir()),
        target_options=options, fresh=args.fresh,
    )
    if args.dry_run:
        return _dry_run(config, args.json)
    progress: ProgressSink | None = None
    if not args.no_progress:
        progress = RichProgress() if sys.stderr.isatty() else PlainProgress()
    err = _err()
    outcome = run_audit(config, progress)
    ref = _RunRef(outcome.store_path, _load_run(outcome.store_path, outcome.run_id))
    if args.report:
        _write_report([ref], Path(args.report))
    if args.json:
        from latentwall.analysis import build_json_summary

        doc = build_json_summary([ref.meta(outcome.counts)], ref.rows())
        doc["outcome"] = {
            "run_id": outcome.run_id, "status": outcome.status, "store": str(outcome.store_path),
            "total": outcome.total, "already_done": outcome.already_done, "new": outcome.new,
            "cached": outcome.cached, "errors": outcome.errors, "elapsed_s": round(outcome.elapsed_s, 3),
            "pipeline_s": round(outcome.pipeline_s, 3),
        }
        if args.report:
            doc["outcome"]["report"] = str(Path(args.report).resolve())
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        from latentwall.analysis import summarise
        from latentwall.report import print_summary

        print_summary(summarise(ref.rows(), by=TERMINAL_BY))
        msg = (f"run {outcome.run_id}: {outcome.status}; {outcome.total} responses "
               f"({outcome.already_done} already done, {outcome.new} new, {outcome.cached} from cache, "
               f"{outcome.errors} errors) in {outcome.elapsed_s:.1f}s; store {outcome.store_path}")
        err.print(escape(msg))
        if args.report:
            err.print(f"report written to {escape(str(args.report))}")
    if outcome.status == "interrupted":
        sig = outcome.signal or signal.SIGINT
        err.print(f"interrupted ({signal.Signals(sig).name}): re-run the same command to resume")
        return 128 + int(sig)
    if outcome.status == "incomplete":
        err.print(f"{outcome.errors} requests ended in ERROR: re-run the same command to retry them")
        return 3
    return 0


def _dry_run(config: Any, as_json: bool) -> int:
    from latentwall.runner import plan_run

    plan = plan_run(config)
    if as_json:
        json.dump(plan, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    out = _out()
    out.print(escape(f"dry run of {plan['target']} on {', '.join(plan['suites'])} (run {plan['run_id']})"))
    out.print(f"probes: {plan['probes']}  samples: {plan['samples']}")
    for cond, n in plan["conditions"].items():
        out.print(escape(f"  condition {cond or '(plain)'}: {n} requests"))
    out.print(f"requests: {plan['requests']} ({plan['already_done']} already done, {plan['to_send']} to send)")
    out.print(f"tokens: ~{plan['prompt_tokens_estimate']:,} prompt (estimate), "
              f"at most {plan['completion_tokens_max']:,} completion")
    return 0


def _load_run(store_path: Path, run_id: str) -> dict[str, Any]:
    from latentwall.store import Store

    with Store(store_path, readonly=True) as store:
        run = store.get_run(run_id)
    assert run is not None
    return run


# -- judge --------------------------------------------------------------------------------


def _read_judge_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a judge input file, checked; lone surrogates are replaced and the row says so
    in `notes`. A file with no rows is an error, not an empty result."""
    from latentwall._data import iter_jsonl
    from latentwall._text import repaired_note

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


def cmd_judge(args: argparse.Namespace) -> int:
    import asyncio

    from latentwall.judges import JudgeInput, make_judge

    inp, outp = Path(args.input), Path(args.output)
    if inp.resolve() == outp.resolve():
        raise ConfigError("output must differ from input")
    judge = make_judge(args.judge)
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
                             "evidence": list(j.evidence), "judge": args.judge}
                        for key in ("confidence", "truncated", "review"):
                            if key in j.extra:
                                r[key] = j.extra[key]
                        counts[r["label"]] = counts.get(r["label"], 0) + 1
                        fh.write(json_line(r, allow_nan=True))
                    batch.clear()

                for _, row in _read_judge_rows(inp):
                    batch.append(row)
                    n += 1
                    if len(batch) >= 256:
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
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    _err().print(escape(f"judged {n} rows with {args.judge} → {outp}" + (f" ({summary})" if summary else "")))
    return 0


def cmd_eval_judge(args: argparse.Namespace) -> int:
    from latentwall._data import iter_jsonl
    from latentwall.judges import evaluate_judge, make_judge
    from latentwall.judges._evaluate import holdout_path

    paths = [Path(f) for f in args.file or []]
    for path in paths:  # an empty set would score 0% and exit 0: say what is wrong
        if not path.is_file():
            raise ConfigError(f"eval file not found: {path}")
        rows = iter_jsonl(path)
        empty = next(rows, None) is None
        rows.close()
        if empty:
            raise DataError(str(path), None, None, "no labelled rows (the file is empty)")
    if args.holdout:
        paths.append(holdout_path())
    judge = make_judge(args.judge)
    compare = make_judge(args.compare) if args.compare else None
    try:
        report = evaluate_judge(judge, paths or None, by=args.by, compare=compare)
    finally:
        for j in (judge, compare):
            if j is not None:
                _close_judge(j)
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        _out().print(report.render(misjudged=args.misjudged))
    return 0


def _close_judge(judge: Any) -> None:
    import asyncio

    try:
        asyncio.run(judge.close())
    except RuntimeError:
        pass


def cmd_fit_judge(args: argparse.Namespace) -> int:
    from latentwall.judges import make_judge
    from latentwall.judges._evaluate import load_eval_set
    from latentwall.judges._fit import (
        DEFAULT_C,
        DEFAULT_HELD_BACK,
        fit,
        read_table,
        rows_from_items,
        write_table,
    )

    if bool(args.file) == bool(args.from_features):
        raise ConfigError("give labelled files or --from-features TABLE (one of the two)")
    if args.from_features:
        rows = read_table(Path(args.from_features))
    else:
        items = load_eval_set([Path(f) for f in args.file])
        _err().print(escape(f"reading {len(items)} labelled responses …"))
        rows = rows_from_items(make_judge("markers"), items)
    if args.features_out:
        write_table(Path(args.features_out), rows)
    res = fit(rows, c=args.C if args.C is not None else DEFAULT_C,
              held_back=args.held_back if args.held_back is not None else DEFAULT_HELD_BACK)
    out = Path(args.output)
    _write_atomic(out, json.dumps(res.model.to_dict(), indent=1) + "\n")
    if args.report:
        _write_atomic(Path(args.report), json.dumps(res.report, indent=1, ensure_ascii=False) + "\n")
    back = res.report.get("held_back", {}).get("all")
    cv = res.report["cross_validated"]["all"]
    msg = (f"fitted on {res.model.meta['rows']['fitted']} rows from {len(res.report['sources'])} file(s) → {out}; "
           f"cross-validated macro-F1 {cv['macro_f1']:.3f}")
    if back:
        msg += f"; held back ({back['n']} rows) macro-F1 {back['macro_f1']:.3f}, ECE {back['ece']}"
    _err().print(escape(msg))
    _err().print(escape(f"use it with: --judge markers:{out}"))
    return 0


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise LatentwallError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


# -- suites -------------------------------------------------------------------------------


def cmd_suites(args: argparse.Namespace) -> int:
    from latentwall.suites import available_suites

    suites = available_suites()
    data = [s.counts() for s in suites.values()]
    if args.json:
        json.dump({"schema": "latentwall.suites/1", "suites": data}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    _print_table("suites", ["suite", "probes", "languages", "topics", "categories"], [
        [d["name"], str(d["probes"]), ", ".join(f"{k} {v}" for k, v in d["by_language"].items()),
         str(len(d["by_topic"])), ", ".join(f"{k} {v}" for k, v in d["by_category"].items())]
        for d in data
    ])
    return 0


# -- report, runs, summary ----------------------------------------------------------------


def _write_report(refs: list[_RunRef], path: Path, extras: dict[str, Any] | None = None) -> Path:
    from latentwall.report import write_report

    metas = [r.meta(r.counts()) for r in refs]
    return write_report(metas, lambda: chain.from_iterable(r.stance_rows() for r in refs), path,
                        extras=extras or {})


def cmd_report(args: argparse.Namespace) -> int:
    refs = _resolve_runs(args.runs, args.run_dir)
    extras: dict[str, Any] = {}
    if args.lab:
        try:
            extras["lab"] = json.loads(Path(args.lab).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {args.lab}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise DataError(args.lab, exc.lineno, None, f"invalid JSON: {exc.msg}") from None
        if not isinstance(extras["lab"], dict) or extras["lab"].get("schema") != "latentwall.lab/1":
            raise ConfigError(f"{args.lab} is not a `latentwall lab` result (schema latentwall.lab/1)")
    if args.regime_reference:
        extras["regime_reference"] = args.regime_reference
    if args.capability_baseline:
        extras["capability_baseline"] = args.capability_baseline
    if args.embeddings:
        extras["diversity_embeddings"] = True
    out = _write_report(refs, Path(args.output), extras)
    _err().print(escape(f"report of {len(refs)} run(s) written to {out}"))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    refs = _resolve_runs([], args.run_dir)
    metas = [r.meta(r.counts()) for r in refs]
    if args.json:
        json.dump({"runs": metas}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    _print_table(f"runs in {args.run_dir or default_run_dir()}",
                 ["run", "target", "suites", "status", "responses", "created"], [
        [m["run_id"], m["target"], ",".join(m["suites"]), m["status"],
         f"{m['counts'].get('responses', 0)}/{m.get('total') or '?'}", m["created"]]
        for m in metas
    ])
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from latentwall.analysis import build_json_summary, summarise
    from latentwall.report import print_summary

    refs = _resolve_runs(args.runs, args.run_dir)

    def rows() -> Iterator[dict[str, Any]]:
        return chain.from_iterable(r.rows() for r in refs)

    if args.json:
        doc = build_json_summary([r.meta(r.counts()) for r in refs], rows())
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        bad = [b for b in args.by if b not in BY_FIELDS]
        if bad:
            raise ConfigError(f"--by: unknown field '{bad[0]}' (known: {', '.join(sorted(BY_FIELDS))})")
        print_summary(summarise(rows(), by=tuple(args.by)))
    return 0


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE, got '{item}'")
        out[key.strip()] = value
    return out


def cmd_import_suite(args: argparse.Namespace) -> int:
    import os

    from latentwall.suites import USER_SUITES_ENV, available_suites, import_suite
    from latentwall.suites._loader import _roots

    shipped = _roots()[0]
    clash = available_suites().get(args.name)
    if clash is not None and clash.path.parent == shipped:
        raise ConfigError(f"'{args.name}' is a shipped suite; choose another --name")
    env_dirs = [d for d in os.environ.get(USER_SUITES_ENV, "").split(os.pathsep) if d]
    dest = Path(args.dest or (env_dirs[0] if env_dirs else "suites"))
    result = import_suite(
        Path(args.source), dest, args.name, _pairs(args.map, "--map"), dict(_pairs(args.set, "--set")),
        args.format, dedupe=args.dedupe, overwrite=args.force, split=args.split,
        title=args.title, licence=args.licence,
    )
    on_path = any(Path(d).resolve() == dest.resolve() for d in env_dirs)
    if args.json:
        json.dump({"name": result.name, "path": str(result.path), "probes": result.n,
                   "skipped": result.skipped, "repaired": result.repaired, "on_suites_path": on_path},
                  sys.stdout)
        sys.stdout.write("\n")
    else:
        msg = f"imported {result.n} probes into {result.path}"
        if result.skipped:
            msg += f" ({result.skipped} duplicates skipped)"
        if result.repaired:
            msg += (f"; {result.repaired} row(s) had invalid characters (lone surrogates), "
                    "replaced with U+FFFD")
        _err().print(escape(msg))
        if not on_path:
            _err().print(escape(f"to use it: export {USER_SUITES_ENV}={dest.resolve()}  "
                                f"(or run with -s {result.path})"))
    return 0


def cmd_stance(args: argparse.Namespace) -> int:
    from latentwall.analysis import stance_pass
    from latentwall.store import Store

    refs = _resolve_runs(args.runs, args.run_dir)
    results = []
    for ref in refs:
        with Store(ref.store_path) as store:
            results.append(stance_pass(store, ref.run["run_id"], args.scorer))
    if args.json:
        json.dump({"stance_passes": results}, sys.stdout, ensure_ascii=False, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        for r in results:
            counts = ", ".join(f"{k} {v}" for k, v in sorted((r.get("counts") or {}).items()) if v)
            _err().print(escape(f"run {r['run_id']}: {r.get('n_scored', 0)} of {r.get('n_rows', 0)} responses "
                                f"scored by {r.get('scorer')} → judge '{r.get('judge')}' ({counts or 'none'})"))
    return 0


def _analyses(refs: list[_RunRef]) -> dict[str, Any]:
    """Every cross-row analysis of the runs, each with its own not_applicable reason."""
    from latentwall.analysis import (
        diversity,
        locale_effects,
        paired_control_gap,
        regime_cards,
        splinter_index,
        stance_summary,
        strategy_metrics,
        thought_suppression,
    )
    from latentwall.suites import capability_accuracy

    rows = list(chain.from_iterable(r.stance_rows() for r in refs))
    cap_rows = [r for r in rows if r.get("category") == "capability"]
    conditions = {r.get("condition") or "" for r in rows}
    out: dict[str, Any] = {
        "schema": "latentwall.analyses/1",
        "runs": [r.run["run_id"] for r in refs],
        "splinter_language": splinter_index(rows, axis="language"),
        "splinter_condition": splinter_index(rows, axis="condition") if len(conditions) > 1
        else {"not_applicable": "the runs have one condition only (add --strategy or --locale)"},
        "paired_control_gap": paired_control_gap(rows),
        "stance": stance_summary(rows),
        "thought_suppression": thought_suppression(rows),
        "regimes": regime_cards(rows),
        "locale_effects": locale_effects(rows),
        "capability": capability_accuracy(cap_rows) if cap_rows
        else {"not_applicable": "no capability-suite probes in these runs (add -s capability)"},
        "diversity": diversity(rows, embeddings=False),
        "strategies_guards": strategy_metrics(rows) if len(conditions) > 1 or any(r.get("guard") for r in rows)
        else {"not_applicable": "no strategy (--strategy/--locale) or guard (--guard) in these runs"},
    }
    return out


def cmd_analyse(args: argparse.Namespace) -> int:
    refs = _resolve_runs(args.runs, args.run_dir)
    doc = _analyses(refs)
    if args.json:
        json.dump(doc, sys.stdout, ensure_ascii=False, indent=1, default=str)
        sys.stdout.write("\n")
        return 0
    rows = []
    for name, res in doc.items():
        if not isinstance(res, dict):
            continue
        na = res.get("not_applicable")
        rows.append([name, "not available: " + str(na) if na else "computed"])
    _print_table("analyses (use --json for the figures, `latentwall report` for tables and charts)",
                 ["analysis", "result"], rows)
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from latentwall.report import serve_viewer

    serve_viewer(args.run_dir or default_run_dir(), host=args.host, port=args.port, open_browser=args.open)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from latentwall.export import export_run

    refs = _resolve_runs(args.runs, args.run_dir)
    stores = {r.store_path for r in refs}
    if len(stores) > 1:
        raise ConfigError("export runs of one run directory at a time")
    n = export_run(refs[0].store_path, [r.run["run_id"] for r in refs], args.output, args.format,
                   excel_safe=not args.no_excel_safe)
    _err().print(escape(f"exported {n} rows of {len(refs)} run(s) to {args.output}"))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from latentwall.analysis import compare_runs, render_compare

    if len(args.runs) > 2:
        raise ConfigError("compare takes RUN_A RUN_B, or one RUN with --target-a and --target-b")
    if len(args.runs) == 1:
        if not (args.target_a and args.target_b):
            raise ConfigError("with one RUN, name the two targets to compare: --target-a T --target-b T")
        refs = _resolve_runs(args.runs, args.run_dir)
        res = compare_runs(chain.from_iterable(r.rows() for r in refs), None,
                           target_a=args.target_a, target_b=args.target_b)
    else:
        ref_a = _resolve_runs([args.runs[0]], args.run_dir)
        ref_b = _resolve_runs([args.runs[1]], args.run_dir)
        res = compare_runs(chain.from_iterable(r.rows() for r in ref_a),
                           chain.from_iterable(r.rows() for r in ref_b),
                           target_a=args.target_a, target_b=args.target_b,
                           label_a=args.runs[0], label_b=args.runs[1])
    if args.json:
        json.dump(res, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        render_compare(res, _out(), max_rows=args.max_rows)
    if res.get("not_applicable"):
        _err().print(escape(f"cannot compare: {res['not_applicable']}"))
        return 1
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    from latentwall.strategies import STRATEGIES

    rows = []
    for name in STRATEGIES.names():
        cls = STRATEGIES.get(name)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        rows.append([name, "yes" if cls.needs_prefill else "", doc])
    _print_table("strategies (chain with +, arguments after :)", ["strategy", "needs prefill", "what it does"], rows)
    return 0


def cmd_guards(args: argparse.Namespace) -> int:
    from latentwall.guards import guard_catalog, keyword_list_catalog

    guards, lists = guard_catalog(), keyword_list_catalog()
    if args.json:
        json.dump({"guards": guards, "keyword_lists": lists}, sys.stdout, ensure_ascii=False, indent=1, default=str)
        sys.stdout.write("\n")
        return 0
    _print_table("guards (use with run --guard NAME[:options])", ["guard", "what it does"],
                 [[str(g.get("name", "")), str(g.get("summary", g.get("doc", "")))] for g in guards])
    _print_table("keyword lists (keyword:lists=A+B)", ["list", "topics", "keywords"],
                 [[str(k.get("name", "")),
                   ", ".join(f"{t} {n}" for t, n in (k.get("topics") or {}).items()),
                   str(k.get("keywords", ""))] for k in lists])
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    from latentwall.judges import JUDGES
    from latentwall.targets import TARGETS

    out = _out()
    out.print("target kinds: " + ", ".join(TARGETS.names()))
    out.print("judges: " + ", ".join(JUDGES.names()))
    return 0


def cmd_regimes(args: argparse.Namespace) -> int:
    from latentwall.analysis._standards import explain_lines, standards_dict

    if args.json:
        json.dump(standards_dict(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    print("\n".join(explain_lines(explain=args.explain)))
    return 0
