"""Argument parsing and dispatch. Errors are one line unless --debug."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from latentwall import __version__
from latentwall.errors import LatentwallError

DEFAULT_RUN_DIR = "latentwall-runs"
RUN_DIR_ENV = "LATENTWALL_RUN_DIR"


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def default_run_dir() -> str:
    return os.environ.get(RUN_DIR_ENV, DEFAULT_RUN_DIR)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="latentwall",
        description="Audit what open-weight language models will not say.",
    )
    p.add_argument("--version", action="version", version=f"latentwall {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("run", help="run (or resume) an audit of one target on one or more suites")
    r.add_argument("-t", "--target", required=True,
                   help="builtin | hf:PATH | openai:MODEL@BASE_URL | replay:PATH")
    r.add_argument("-s", "--suite", required=True, type=_csv, help="suite[,suite...] (see `latentwall suites`)")
    r.add_argument("--lang", type=_csv, default=None,
                   help="languages to keep, e.g. en,zh (zh selects zh-Hans and zh-Hant)")
    r.add_argument("--limit", type=int, default=None, help="at most N probes per suite")
    r.add_argument("--samples", type=int, default=1, help="samples per probe (default 1)")
    r.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0: greedy)")
    r.add_argument("--top-p", type=float, default=1.0)
    r.add_argument("--max-tokens", type=int, default=256, help="token limit per answer (default 256)")
    r.add_argument("--seed", type=int, default=0, help="base seed; sample i uses seed+i (default 0)")
    r.add_argument("--judge", default="markers", help="judge name (default markers; llm:TARGET for an LLM judge)")
    r.add_argument("--run-dir", default=None, help=f"where runs are stored (default ${RUN_DIR_ENV} or ./{DEFAULT_RUN_DIR})")
    r.add_argument("--concurrency", type=int, default=None, help="requests in flight (openai targets)")
    r.add_argument("--batch-size", type=int, default=None, help="generation batch size (local models)")
    r.add_argument("--timeout", type=float, default=None, help="seconds per request (openai targets)")
    r.add_argument("--retries", type=int, default=None, help="retries per request (openai targets)")
    r.add_argument("--max-response-mb", type=float, default=None, metavar="MB",
                   help="largest answer body read from a server (openai targets; default 4): "
                        "a larger one is recorded as ERROR")
    r.add_argument("-O", "--target-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a target-specific option, e.g. -O engine=llamacpp, -O device=cuda, -O dtype=bfloat16, "
                        "-O threads=2, -O api_key_env=MY_KEY_VAR (openai: the variable holding this server's key)")
    r.add_argument("--strategy", action="append", default=[], metavar="CHAIN",
                   help="also run each probe through a strategy chain, e.g. base64 or roleplay+zero-width "
                        "(repeatable; see `latentwall strategies`)")
    r.add_argument("--locale", type=_csv, default=[], metavar="PLACE[,PLACE…]",
                   help="also run with the user placed in each locale, e.g. beijing,taipei,none "
                        "(sugar for --strategy locale:PLACE)")
    r.add_argument("--no-plain", action="store_true", help="with --strategy: skip the unperturbed probe")
    r.add_argument("--guard", default=None, metavar="SPEC", help="wrap the target in a guard, e.g. keyword")
    r.add_argument("--dry-run", action="store_true",
                   help="print the number of requests and a token estimate, send nothing")
    r.add_argument("--fresh", action="store_true", help="start a new run instead of resuming an identical one")
    r.add_argument("--report", default=None, metavar="HTML", help="also write the HTML report here")
    r.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    j = sub.add_parser("judge", help="label an existing prompt/response JSONL file")
    j.add_argument("input", help="JSONL with prompt, response and optionally id, reasoning, language")
    j.add_argument("-o", "--output", required=True, help="output JSONL (each row plus label and rationale)")
    j.add_argument("--judge", default="markers", help="judge name (default markers)")

    e = sub.add_parser("eval-judge", help="a judge's macro-F1, accuracies, confusion and calibration on labelled data")
    e.add_argument("--judge", default="markers")
    e.add_argument("--file", action="append", default=None,
                   help="labelled JSONL or JSONL.gz file(s) with prompt, response, label (default: the shipped sets)")
    e.add_argument("--holdout", action="store_true", help="measure on the blind held-out set")
    e.add_argument("--by", action="append", default=[], metavar="FIELD",
                   help="also slice by a field of the rows, e.g. --by model")
    e.add_argument("--compare", metavar="JUDGE", help="a second judge: report how often the two agree (Cohen's kappa)")
    e.add_argument("--misjudged", type=int, default=20, metavar="N", help="list the first N misjudged rows (default 20)")
    e.add_argument("--json", action="store_true")

    fj = sub.add_parser("fit-judge", help="fit the offline judge's weights on labelled data")
    fj.add_argument("file", nargs="*", help="labelled JSONL or JSONL.gz file(s) (prompt, response, label)")
    fj.add_argument("-o", "--output", required=True, help="weights file to write (JSON)")
    fj.add_argument("--from-features", metavar="TABLE", help="fit on a feature table written by --features-out")
    fj.add_argument("--features-out", metavar="TABLE", help="also write the signals of every row (CSV, .gz to compress)")
    fj.add_argument("--report", metavar="JSON", help="also write the fit report (cross-validated and held-back figures)")
    fj.add_argument("-C", type=float, default=None, help="inverse regularisation strength (default 3)")
    fj.add_argument("--held-back", type=float, default=None, help="share of requests held back to measure (default 0.2)")

    s = sub.add_parser("suites", help="list suites with probe counts by language and topic")
    s.add_argument("--json", action="store_true")

    rep = sub.add_parser("report", help="write a self-contained HTML report of one or more runs")
    rep.add_argument("runs", nargs="*", metavar="RUN",
                     help="run id (or prefix) in --run-dir, or a run directory (all its runs); default: all runs")
    rep.add_argument("-o", "--output", default="report.html")
    rep.add_argument("--run-dir", default=None)
    rep.add_argument("--lab", default=None, metavar="LAB.json",
                     help="embed the white-box figures of a `latentwall lab` result")
    rep.add_argument("--regime-reference", default=None, metavar="TARGET[,TARGET…]",
                     help="user-chosen reference for the universal-safety grade: targets in these runs, "
                          "combined the MLCommons way (see `latentwall regimes --explain`)")
    rep.add_argument("--capability-baseline", default=None, metavar="TARGET",
                     help="the target the capability tax is measured against (default: the first)")
    rep.add_argument("--embeddings", action="store_true",
                     help="embedding dispersion in the diversity section (needs an embedding model package)")

    ls = sub.add_parser("runs", help="list the runs in a run directory")
    ls.add_argument("--run-dir", default=None)
    ls.add_argument("--json", action="store_true")

    sm = sub.add_parser("summary", help="print the summary of one or more runs")
    sm.add_argument("runs", nargs="*", metavar="RUN")
    sm.add_argument("--run-dir", default=None)
    sm.add_argument("--json", action="store_true")
    sm.add_argument("--by", type=_csv, default=["target", "suite", "language"],
                    help="breakdown fields (default target,suite,language; add topic, kind, category ...)")

    im = sub.add_parser("import-suite", help="import a CSV/JSONL/Parquet/HF-on-disk data set as a user suite")
    im.add_argument("source", help="file (.csv .tsv .jsonl .parquet) or a datasets save_to_disk folder")
    im.add_argument("--name", required=True, help="suite name (lower-case)")
    im.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                    help="probe field from a source column, e.g. --map text=prompt --map topic=category")
    im.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="a fixed value, e.g. --set language=en --set category=harm "
                         "--set expected.universal-safety=refuse --set tags=a,b")
    im.add_argument("--format", default=None, choices=["csv", "tsv", "jsonl", "parquet", "hf"])
    im.add_argument("--split", default=None, help="split of a saved DatasetDict")
    im.add_argument("--dest", default=None,
                    help="folder of user suites (default: first entry of $LATENTWALL_SUITES, else ./suites)")
    im.add_argument("--dedupe", action="store_true", help="skip duplicate texts instead of failing")
    im.add_argument("--force", action="store_true", help="replace an existing user suite of that name")
    im.add_argument("--title", default=None)
    im.add_argument("--licence", default=None)
    im.add_argument("--json", action="store_true")

    st = sub.add_parser("stance", help="score narrative stance of a run's answers against the fact sheets")
    st.add_argument("runs", nargs="*", metavar="RUN")
    st.add_argument("--scorer", default="offline", help="offline (default) or llm:TARGET_SPEC")
    st.add_argument("--run-dir", default=None)
    st.add_argument("--json", action="store_true")

    an = sub.add_parser("analyse", help="every analysis of runs (splinter, paired gap, stance, regimes, ...)")
    an.add_argument("runs", nargs="*", metavar="RUN")
    an.add_argument("--run-dir", default=None)
    an.add_argument("--json", action="store_true")

    vw = sub.add_parser("view", help="live viewer of the runs in a run directory, on 127.0.0.1")
    vw.add_argument("run_dir", nargs="?", default=None, metavar="RUN_DIR")
    vw.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    vw.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    vw.add_argument("--open", action="store_true", help="open it in the default browser")

    ex = sub.add_parser("export", help="export responses and judgements (JSONL, CSV, Parquet) or the summary")
    ex.add_argument("runs", nargs="*", metavar="RUN")
    ex.add_argument("-o", "--output", required=True, help="file; the format follows the suffix unless --format")
    ex.add_argument("--format", default=None, choices=["jsonl", "csv", "parquet", "summary"])
    ex.add_argument("--run-dir", default=None)
    ex.add_argument("--no-excel-safe", action="store_true",
                    help="CSV: keep cells exactly (default prefixes formula-like cells with ')")

    cp = sub.add_parser("compare", help="per-probe disagreements, paired tests and topics that moved between two runs")
    cp.add_argument("runs", nargs="+", metavar="RUN", help="RUN_A RUN_B, or one RUN with --target-a/--target-b")
    cp.add_argument("--run-dir", default=None)
    cp.add_argument("--target-a", default=None, help="target label inside the run(s) for side A")
    cp.add_argument("--target-b", default=None, help="target label inside the run(s) for side B")
    cp.add_argument("--max-rows", type=int, default=20, help="rows per table in the terminal")
    cp.add_argument("--json", action="store_true")

    rg = sub.add_parser("regimes", help="the regimes and the thresholds each card applies (--explain: sources)")
    rg.add_argument("--explain", action="store_true", help="every threshold with its source, risks and hazards")
    rg.add_argument("--json", action="store_true")

    sub.add_parser("targets", help="list target kinds and judges")
    sub.add_parser("strategies", help="list the strategies a condition can chain")
    gd = sub.add_parser("guards", help="list the guards and their keyword lists")
    gd.add_argument("--json", action="store_true")

    from latentwall.cli._review import register as register_review
    from latentwall.lab import register_cli as register_lab

    register_review(sub)
    register_lab(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    from latentwall.cli import _commands

    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": _commands.cmd_run, "judge": _commands.cmd_judge, "eval-judge": _commands.cmd_eval_judge,
        "fit-judge": _commands.cmd_fit_judge,
        "suites": _commands.cmd_suites, "report": _commands.cmd_report, "runs": _commands.cmd_runs,
        "summary": _commands.cmd_summary, "targets": _commands.cmd_targets,
        "import-suite": _commands.cmd_import_suite, "compare": _commands.cmd_compare,
        "view": _commands.cmd_view, "export": _commands.cmd_export,
        "stance": _commands.cmd_stance, "analyse": _commands.cmd_analyse, "strategies": _commands.cmd_strategies,
        "guards": _commands.cmd_guards, "regimes": _commands.cmd_regimes,
    }
    if args.command in ("lab", "review", "rejudge"):  # registered by their own modules
        handlers[args.command] = args.handler
    try:
        return handlers[args.command](args)
    except LatentwallError as exc:
        if args.debug:
            raise
        _fail(str(exc))
        return 1
    except KeyboardInterrupt:
        print("latentwall: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a full disk, a vanished directory: the cause, not a traceback
        if args.debug:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}")
        return 1
    except Exception as exc:  # a bug: still one line, and how to see more
        if args.debug:
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (re-run with --debug for the traceback, "
              "and please report it)")
        return 1


def _fail(message: str) -> None:
    """One error line; messages can quote servers and files, so they are cleaned first."""
    from latentwall._text import terminal_text

    print(f"latentwall: error: {_one_line(terminal_text(message))}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(text.split())
