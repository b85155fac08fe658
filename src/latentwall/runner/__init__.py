"""Runner: streams probes through a target and a judge into the store; resumes. Passes over
a finished run (narrative stance) store their judgements beside the run's own."""

from latentwall.runner._passes import stance_pass
from latentwall.runner._progress import NullProgress, PlainProgress, ProgressSink, RichProgress
from latentwall.runner._runner import (
    RunConfig,
    Runner,
    RunOutcome,
    plan_run,
    run_audit,
    run_audit_async,
    target_options,
)

__all__ = [
    "NullProgress", "PlainProgress", "ProgressSink", "RichProgress", "RunConfig", "RunOutcome", "Runner", "plan_run",
    "run_audit", "run_audit_async", "stance_pass", "target_options",
]
