"""White-box lab: where refusal and censorship live in a model's weights, and how cheaply
they come off. Everything is measured in memory; nothing writes modified weights.

This module imports nothing heavy: the CLI registers `lab` without torch, and the
functions below load their modules (torch, transformers, numpy) on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

SCHEMA = "latentwall.lab/1"

_LAZY = {
    "LabModel": "_model", "load_model": "_model", "wrap_model": "_model",
    "ActivationSet": "_activations", "capture": "_activations",
    "diff_means": "_directions", "select_direction": "_directions",
    "ablation": "_ablation", "addition": "_ablation", "orthogonalized_copy": "_ablation",
    "judged_refusals": "_ablation", "refusal_scores": "_ablation",
    "cosine_with_null": "_geometry", "layer_probes": "_probes", "auroc": "_probes",
    "weight_diff": "_lineage", "crawl": "_crawler", "parse_topics": "_crawler",
    "Lab": "_run", "LabConfig": "_run", "lineage_report": "_run", "new_result": "_run",
    "lab_sections_html": "_report", "write_html": "_report", "write_json": "_report",
    "run_demo": "_demo",
    "position_labels": "_activations", "logits_last": "_activations", "orthonormal": "_ablation",
    "candidate_grid": "_directions", "fit_logreg": "_probes", "tpr_at_fpr": "_probes",
    "effective_rank": "_lineage", "svg_heatmap": "_report", "svg_lines": "_report",
    "load_role": "_prompts", "split": "_prompts", "esc": "_report",
    # the censorship organism (docs/organism.md); "module:name" where the public name differs
    "load_plan": "_organism", "planted": "_organism", "organism_dir": "_organism",
    "build_organism": "_organism:build", "ORGANISM_BASE": "_organism:BASE",
}


def register_cli(subparsers: Any) -> Any:
    """Add `latentwall lab …` to the main parser's subparsers (argparse only, no torch)."""
    from latentwall.lab._cli import register

    return register(subparsers)


def run_cli(args: Any) -> int:
    """Run a parsed `lab` command (the main CLI's handler for 'lab')."""
    from latentwall.lab._cli import run

    return run(args)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, _, attr = _LAZY[name].partition(":")
        return getattr(import_module(f"latentwall.lab.{module}"), attr or name)
    raise AttributeError(f"module 'latentwall.lab' has no attribute {name!r}")


__all__ = ["SCHEMA", "register_cli", "run_cli", *_LAZY]
