"""Issue 17, point 5: an API key goes only to the server it is meant for. The audited
server's key never reaches a judge or scorer on another host; each target can name the
variable its key comes from; a key over plain http to another host draws a warning; a key
together with user:password@ is a clear error."""

from __future__ import annotations

import asyncio
import logging

import pytest

from _helpers import cli_env, run_cli, use_suites
from latentwall.errors import ConfigError, TargetError
from latentwall.judges.stance import LLMStanceScorer
from latentwall.runner import RunConfig, run_audit
from latentwall.targets import make_target
from latentwall.testing import FakeOpenAIServer

VERDICT = '{"label": "COMPLETE", "rationale": "It answers the question."}'


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch):
    for name in ("LATENTWALL_API_KEY", "OPENAI_API_KEY", "LATENTWALL_JUDGE_API_KEY", "MY_SERVER_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def suites(tmp_path, monkeypatch):
    return use_suites(tmp_path / "suites", monkeypatch, mini=4)


def _audit(audited: FakeOpenAIServer, judge: FakeOpenAIServer, run_dir, **options):
    return run_audit(RunConfig(target=f"openai:fake@{audited.base_url}", suites=["mini"], run_dir=run_dir,
                               judge=f"llm:openai:judge@{judge.base_url}", target_options=options))


def test_the_audited_servers_key_never_reaches_the_judge(suites, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTWALL_API_KEY", "audited-secret")
    with FakeOpenAIServer(require_api_key="audited-secret") as audited, \
            FakeOpenAIServer(responder=lambda m: VERDICT) as judge:
        out = _audit(audited, judge, tmp_path / "a")
        assert out.status == "finished" and out.counts.get("COMPLETE") == 4
        assert judge.request_count == 4 and "authorization" not in judge.last_headers
        assert audited.last_headers["authorization"] == "Bearer audited-secret"
        # The judge's own key comes from LATENTWALL_JUDGE_API_KEY.
        monkeypatch.setenv("LATENTWALL_JUDGE_API_KEY", "judge-secret")
        _audit(audited, judge, tmp_path / "b")
        assert judge.last_headers["authorization"] == "Bearer judge-secret"
        assert audited.last_headers["authorization"] == "Bearer audited-secret"


def test_the_stance_scorer_does_not_take_the_audited_key(monkeypatch):
    monkeypatch.setenv("LATENTWALL_API_KEY", "audited-secret")
    scorer = LLMStanceScorer("openai:scorer@http://127.0.0.1:9/v1")
    assert scorer.target.describe()["api_key_from"] is None
    monkeypatch.setenv("LATENTWALL_JUDGE_API_KEY", "judge-secret")
    assert LLMStanceScorer("openai:s@http://127.0.0.1:9/v1").target.describe()["api_key_from"] == \
        "LATENTWALL_JUDGE_API_KEY"


def test_a_target_names_the_variable_its_key_comes_from(suites, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTWALL_API_KEY", "not-for-this-server")
    monkeypatch.setenv("MY_SERVER_KEY", "right-secret")
    with FakeOpenAIServer(require_api_key="right-secret") as srv:
        out = run_audit(RunConfig(target=f"openai:fake@{srv.base_url}", suites=["mini"], run_dir=tmp_path,
                                  target_options={"api_key_env": "MY_SERVER_KEY"}))
        assert out.status == "finished" and srv.last_headers["authorization"] == "Bearer right-secret"
    t = make_target("openai:m@http://127.0.0.1:9/v1", api_key_env="none")
    assert t.describe()["api_key_from"] is None
    with pytest.raises(ConfigError, match="MISSING_VAR is not set"):
        make_target("openai:m@http://127.0.0.1:9/v1", api_key_env="MISSING_VAR")
    with pytest.raises(ConfigError, match="must name an environment variable"):
        make_target("openai:m@http://127.0.0.1:9/v1", api_key_env="not a name")


def test_cli_key_option_and_its_errors(suites, tmp_path):
    env = cli_env(LATENTWALL_SUITES=str(suites), LATENTWALL_RUN_DIR=str(tmp_path / "runs"),
                  MY_SERVER_KEY="right-secret")
    with FakeOpenAIServer(require_api_key="right-secret") as srv:
        proc = run_cli("run", "-t", f"openai:fake@{srv.base_url}", "-s", "mini", "-O", "api_key_env=MY_SERVER_KEY",
                       env=env)
        assert proc.returncode == 0, proc.stderr
        proc = run_cli("run", "-t", f"openai:fake@{srv.base_url}", "-s", "mini", "-O", "api_key_env=NOPE",
                       "--fresh", env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("latentwall: error: openai target: api_key_env=NOPE, but the environment "
                                   "variable NOPE is not set")


def test_user_password_in_the_url_plus_a_key_is_a_clear_error(suites, tmp_path):
    env = cli_env(LATENTWALL_SUITES=str(suites), LATENTWALL_RUN_DIR=str(tmp_path / "runs"),
                  LATENTWALL_API_KEY="secret")
    with FakeOpenAIServer() as srv:
        url = srv.base_url.replace("http://", "http://user:pass@")
        proc = run_cli("run", "-t", f"openai:fake@{url}", "-s", "mini", env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "the URL carries user:password and an API key is set (from LATENTWALL_API_KEY)" in proc.stderr
    assert "secret" not in proc.stderr.replace("the URL", "")  # neither key nor password shown
    assert "pass" not in proc.stderr.replace("password", "")


def test_a_key_over_plain_http_to_another_host_draws_a_warning(caplog, monkeypatch):
    monkeypatch.setenv("LATENTWALL_API_KEY", "secret")

    async def start(url: str, **options) -> None:
        target = make_target(f"openai:m@{url}", timeout=0.3, **options)
        try:
            await target.start()
        finally:
            await target.close()

    caplog.set_level(logging.WARNING, logger="latentwall.targets._openai")
    with pytest.raises(TargetError):  # 192.0.2.1 is TEST-NET-1: nothing answers there
        asyncio.run(start("http://192.0.2.1:9/v1"))
    warned = [r.getMessage() for r in caplog.records if "plain http" in r.getMessage()]
    assert warned and "LATENTWALL_API_KEY" in warned[0] and "secret" not in warned[0]
    caplog.clear()
    with pytest.raises(TargetError):
        asyncio.run(start("http://192.0.2.1:9/v1", api_key_env="none"))  # no key: nothing to warn about
    with FakeOpenAIServer() as srv:
        asyncio.run(start(srv.base_url))  # loopback: the key never leaves the machine
    assert not [r for r in caplog.records if "plain http" in r.getMessage()]
