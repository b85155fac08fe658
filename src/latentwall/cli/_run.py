"""`latentwall run`: run an audit, or resume the identical unfinished one."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from latentwall.cli._command import command, csv_list, err, out, pairs, print_json
from latentwall.labels import DEFAULT_JUDGE
from latentwall.store import RUN_DIR_ENV, default_run_dir

# The terminal shows the coarse breakdown; the report and --json carry topics too.
TERMINAL_BY = ("target", "suite", "language")


def arguments(r: argparse.ArgumentParser) -> None:
    r.add_argument("-t", "--target", required=True,
                   help="builtin | hf:PATH | openai:MODEL@BASE_URL | replay:PATH")
    r.add_argument("-s", "--suite", required=True, type=csv_list, help="suite[,suite...] (see `latentwall suites`)")
    r.add_argument("--lang", type=csv_list, default=None,
                   help="languages to keep, e.g. en,zh (zh selects zh-Hans and zh-Hant)")
    r.add_argument("--limit", type=int, default=None, help="at most N probes per suite")
    r.add_argument("--samples", type=int, default=1, help="samples per probe (default 1)")
    r.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0: greedy)")
    r.add_argument("--top-p", type=float, default=1.0)
    r.add_argument("--max-tokens", type=int, default=256, help="token limit per answer (default 256)")
    r.add_argument("--seed", type=int, default=0, help="base seed; sample i uses seed+i (default 0)")
    r.add_argument("--judge", default=DEFAULT_JUDGE, help="judge name (default markers; llm:TARGET for an LLM judge)")
    r.add_argument("--run-dir", default=None, help=f"where runs are stored (default ${RUN_DIR_ENV} or ./latentwall-runs)")
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
    r.add_argument("--locale", type=csv_list, default=[], metavar="PLACE[,PLACE…]",
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


@command("run", "run (or resume) an audit of one target on one or more suites", arguments=arguments, order=10)
def handle(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from latentwall.runner import (
        PlainProgress,
        ProgressSink,
        RichProgress,
        RunConfig,
        run_audit,
        target_options,
    )
    from latentwall.strategies import condition_specs
    from latentwall.targets import GenParams

    options = target_options({name: getattr(args, name) for name in ("concurrency", "batch_size", "timeout",
                                                                      "retries", "max_response_mb")},
                             pairs(args.target_option, "--target-option"))
    config = RunConfig(
        conditions=condition_specs(not args.no_plain, args.strategy, args.locale), guard=args.guard,
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
    console = err()
    outcome = run_audit(config, progress)
    from latentwall.store import RunRef, Store

    with Store(outcome.store_path, readonly=True) as store:
        run = store.get_run(outcome.run_id)
    assert run is not None
    ref = RunRef(outcome.store_path, run)
    if args.report:
        from latentwall.cli._report import write_runs_report

        write_runs_report([ref], Path(args.report))
    if args.json:
        from latentwall.analysis import build_json_summary
        from latentwall.store import run_meta

        doc = build_json_summary([run_meta(run, outcome.counts, outcome.store_path)], ref.results())
        doc["outcome"] = outcome.to_dict()
        if args.report:
            doc["outcome"]["report"] = str(Path(args.report).resolve())
        print_json(doc)
    else:
        from latentwall.analysis import summarise
        from latentwall.report import print_summary

        print_summary(summarise(ref.results(), by=TERMINAL_BY))
        console.print(escape(outcome.line()))
        if args.report:
            console.print(f"report written to {escape(str(args.report))}")
    if outcome.status == "interrupted":
        sig = outcome.signal or signal.SIGINT
        console.print(f"interrupted ({signal.Signals(sig).name}): re-run the same command to resume")
        return 128 + int(sig)
    if outcome.status == "incomplete":
        console.print(f"{outcome.errors} requests ended in ERROR: re-run the same command to retry them")
        return 3
    return 0


def _dry_run(config: object, as_json: bool) -> int:
    from rich.markup import escape

    from latentwall.runner import plan_run

    plan = plan_run(config)  # type: ignore[arg-type]
    if as_json:
        print_json(plan)
        return 0
    o = out()
    o.print(escape(f"dry run of {plan['target']} on {', '.join(plan['suites'])} (run {plan['run_id']})"))
    o.print(f"probes: {plan['probes']}  samples: {plan['samples']}")
    for cond, n in plan["conditions"].items():
        o.print(escape(f"  condition {cond or '(plain)'}: {n} requests"))
    o.print(f"requests: {plan['requests']} ({plan['already_done']} already done, {plan['to_send']} to send)")
    o.print(f"tokens: ~{plan['prompt_tokens_estimate']:,} prompt (estimate), "
            f"at most {plan['completion_tokens_max']:,} completion")
    return 0
