"""Runner: streams probes through a target and a judge into the store; resumes."""

from latentwall.runner._progress import NullProgress, PlainProgress, ProgressSink, RichProgress
from latentwall.runner._runner import (
    RunConfig,
    Runner,
    RunOutcome,
    plan_run,
    run_audit,
    run_audit_async,
)

__all__ = [
    "NullProgress", "PlainProgress", "ProgressSink", "RichProgress", "RunConfig", "RunOutcome", "Runner", "plan_run",
    "run_audit", "run_audit_async",
]
