"""`latentwall stance`: store a narrative-stance pass over runs."""

from __future__ import annotations

import argparse

from latentwall.cli._command import command, print_json, say


def arguments(st: argparse.ArgumentParser) -> None:
    st.add_argument("runs", nargs="*", metavar="RUN")
    st.add_argument("--scorer", default="offline", help="offline (default) or llm:TARGET_SPEC")
    st.add_argument("--run-dir", default=None)
    st.add_argument("--json", action="store_true")


@command("stance", "score narrative stance of a run's answers against the fact sheets", arguments=arguments,
         order=100)
def handle(args: argparse.Namespace) -> int:
    from latentwall.runner import stance_pass
    from latentwall.store import Store, resolve_runs

    results = []
    for ref in resolve_runs(args.runs, args.run_dir):
        with Store(ref.store_path) as store:
            results.append(stance_pass(store, ref.run_id, args.scorer))
    if args.json:
        print_json({"stance_passes": results}, default=str)
    else:
        for r in results:
            counts = ", ".join(f"{k} {v}" for k, v in sorted((r.get("counts") or {}).items()) if v)
            say(f"run {r['run_id']}: {r.get('n_scored', 0)} of {r.get('n_rows', 0)} responses "
                f"scored by {r.get('scorer')} → judge '{r.get('judge')}' ({counts or 'none'})")
    return 0
