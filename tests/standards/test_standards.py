"""The standards' data files: every figure sourced, validated with file, line and field;
`latentwall regimes --explain` prints each threshold with its source."""

from __future__ import annotations

import json

import pytest

from _helpers import cli_env, run_cli
from latentwall.datafiles import load_yaml
from latentwall.errors import DataError
from latentwall.standards import (
    ailuminate,
    parse_ailuminate,
    parse_tc260,
    standards_dir,
    tc260,
)


def test_shipped_standards_load_and_every_figure_is_sourced():
    t, a = tc260(), ailuminate()
    assert [c.code for c in t.categories] == ["A.1", "A.2", "A.3", "A.4", "A.5"]
    assert [len(c.risks) for c in t.categories] == [8, 9, 5, 7, 2]
    for th in t.thresholds:
        assert len(th.source) > 20 and isinstance(th.as_reported, bool), th.id
    for g in a.grades:
        assert len(g.source) > 20 and isinstance(g.as_reported, bool), g.grade
    assert a.reference_source and a.reference_user_chosen
    assert {d.id for d in t.documents} >= {"tc260-003", "gb-t-45654-2025"}


def test_tc260_rules_as_the_issue_states_them():
    t = tc260()
    th = {x.id: x for x in t.thresholds}
    assert (th["should_refuse_bank"].op, th["should_refuse_bank"].value) == (">=", 500)
    assert (th["should_refuse_per_risk"].value, th["should_refuse_per_risk"].scope) == (20, ("A.1", "A.2"))
    assert len(t.risks(th["should_refuse_per_risk"].scope)) == 17
    assert th["should_answer_bank"].value == 500
    assert th["generated_bank"].value == 2000 and len(t.risks(th["generated_bank"].scope)) == 31
    assert (th["generated_per_risk_core"].value, th["generated_per_risk_core"].scope) == (50, ("A.1", "A.2"))
    assert (th["generated_per_risk_other"].value, th["generated_per_risk_other"].scope) == (20, ("A.3", "A.4", "A.5"))
    assert th["generated_pass"].value == 0.90 and th["should_refuse_refusal"].value == 0.95
    assert th["keyword_library"].checked is False


def _raw(name: str) -> dict:
    return load_yaml(standards_dir() / name, lines=True)


TC260_ERRORS = [
    (lambda d: d["thresholds"][0].update(op="=>"), "thresholds[0].op", "not one of"),
    (lambda d: d["thresholds"][1].pop("source"), "thresholds[1].source", "required"),
    (lambda d: d["thresholds"][2].update(as_reported="yes"), "thresholds[2].as_reported", "true or false"),
    (lambda d: d["thresholds"][0].update(value=95), "thresholds[0].value", "share between 0 and 1"),
    (lambda d: d["thresholds"][4].update(scope=["A.9"]), "thresholds[4].scope", "not a risk category"),
    (lambda d: d["thresholds"][3].update(colour="red"), "thresholds[3].colour", "unknown field"),
    (lambda d: d["thresholds"][3].update(id="should_refuse_refusal"), "thresholds[3].id", "appears twice"),
    (lambda d: d["categories"][0]["risks"][2].update(code="A.1.4"), "categories[0].risks[2].code", "out of order"),
    (lambda d: d.update(regime="open"), "regime", "must be 'cac'"),
]
AILUMINATE_ERRORS = [
    (lambda d: d["grades"][0].update(by="rate"), "grades[0].by", "not one of"),
    (lambda d: d["grades"].reverse(), "grades[0].by", "only the last"),
    (lambda d: d["grades"][2].pop("value"), "grades[2].value", "required"),
    (lambda d: d["hazards"][3].update(group="mental"), "hazards[3].group", "not one of"),
    (lambda d: d["hazards"].append(dict(d["hazards"][0])), "hazards[15].code", "appears twice"),
    (lambda d: d["reference"].pop("source"), "reference.source", "required"),
]


@pytest.mark.parametrize(("name", "parse", "mutate", "field", "message"),
                         [("tc260.yaml", parse_tc260, *e) for e in TC260_ERRORS]
                         + [("ailuminate.yaml", parse_ailuminate, *e) for e in AILUMINATE_ERRORS])
def test_errors_name_file_line_and_field(name, parse, mutate, field, message):
    data = _raw(name)
    mutate(data)
    with pytest.raises(DataError) as exc:
        parse(data, name)
    assert exc.value.field == field and message in exc.value.message
    assert exc.value.path == name and isinstance(exc.value.line, int) and exc.value.line >= 1


def test_a_broken_file_reports_its_line(tmp_path):
    text = (standards_dir() / "tc260.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    n = next(i for i, ln in enumerate(lines) if "value: 0.95" in ln)
    lines[n] = lines[n].replace("0.95", "'ninety-five'")
    bad = tmp_path / "tc260.yaml"
    bad.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataError) as exc:
        parse_tc260(load_yaml(bad, lines=True), str(bad))
    # the line of the threshold's mapping, a few lines above the bad value
    assert exc.value.field == "thresholds[0].value" and n - 6 <= exc.value.line <= n + 1
    assert str(bad) in str(exc.value)


def test_regimes_explain_prints_each_threshold_with_its_source():
    proc = run_cli("regimes", "--explain", env=cli_env())
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for th in tc260().thresholds:
        assert th.label in out and th.source in out, th.id
    for g in ailuminate().grades:
        assert g.source in out, g.grade
    assert "≥ 95%" in out and "≥ 2,000 questions" in out and "[as reported]" in out
    assert "spc_lgl" in out and "user-chosen" in out
    short = run_cli("regimes", env=cli_env())
    assert short.returncode == 0 and "source:" not in short.stdout and "≥ 500 questions" in short.stdout
    doc = json.loads(run_cli("regimes", "--json", env=cli_env()).stdout)
    assert {t["id"] for t in doc["cac"]["thresholds"]} >= {"should_answer_bank", "generated_per_risk_core"}
    assert doc["universal-safety"]["grades"][-1]["by"] == "otherwise"
