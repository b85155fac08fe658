"""The asyncio runner: probes stream in, batches go to the target, judgements and
responses go to the store as they arrive. Re-running the same configuration resumes.

Memory stays flat in the number of probes: probes are read in chunks, queues are
bounded, and nothing per-probe is kept once it is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentwall import __version__
from latentwall.errors import ConfigError, TargetError
from latentwall.judges import Judge, JudgeInput, Judgement, make_judge
from latentwall.labels import DEFAULT_JUDGE, Status
from latentwall.runner._progress import NullProgress, ProgressSink
from latentwall.store import DB_NAME, DEFAULT_RUN_DIR, ResultRecord, RunLock, Store
from latentwall.strategies import Condition, make_condition
from latentwall.suites import Probe, iter_selected
from latentwall.targets import (
    MAX_CONCURRENCY,
    GenParams,
    Request,
    Response,
    Target,
    make_target,
    redact_spec,
)

CHUNK = 256  # probes read, checked for resume and looked up in the cache at a time
# Target options that change how fast answers come, not what they say: not part of a run's
# identity, so re-running with another --concurrency still resumes.
_PACE_OPTIONS = frozenset({"concurrency", "timeout", "retries", "batch_size", "threads", "backoff",
                           "max_retry_after", "max_response_bytes", "api_key_env"})
# Signals that stop a run the way Ctrl-C does: what arrived is written, the run resumes later.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
WRITE_BATCH = 512  # most records per store transaction
# Bounds of the pace options a user may give (absurd values are refused, not clamped).
OPTION_BOUNDS: tuple[tuple[str, float, float], ...] = (
    ("concurrency", 1, MAX_CONCURRENCY), ("batch_size", 1, 4096), ("timeout", 0.001, 86_400),
    ("retries", 0, 100), ("max_response_mb", 0.001, 2048))


def target_options(values: dict[str, float | None], pairs: dict[str, str]) -> dict[str, Any]:
    """Target options from the command line: bounded pace options (`--concurrency` ...; the
    answer-size cap given in MB) and free KEY=VALUE pairs (-O)."""
    options: dict[str, Any] = {}
    for name, lo, hi in OPTION_BOUNDS:
        val = values.get(name)
        if val is not None:
            if not (math.isfinite(val) and lo <= val <= hi):
                raise ConfigError(f"--{name.replace('_', '-')} must be between {lo:g} and {hi:g}, got {val:g}")
            options[name] = val
    if "max_response_mb" in options:
        options["max_response_bytes"] = max(1024, int(options.pop("max_response_mb") * (1 << 20)))
    for key, value in pairs.items():
        options[key.replace("-", "_")] = value
    return options


@dataclass
class RunConfig:
    """Everything that defines a run. The same identity resumes the same run."""

    target: str
    suites: list[str]
    languages: list[str] | None = None
    limit: int | None = None
    samples: int = 1
    params: GenParams = field(default_factory=GenParams)
    judge: str = DEFAULT_JUDGE
    run_dir: Path = Path(DEFAULT_RUN_DIR)
    target_options: dict[str, Any] = field(default_factory=dict)
    fresh: bool = False  # start a new run even if an identical one exists, asking everything anew
    # Condition specs (strategy chains, locales); "" is the plain probe.
    conditions: list[str] = field(default_factory=lambda: [""])
    guard: str | None = None  # wrap the target in a guard (input/output filter)

    def identity(self) -> dict[str, Any]:
        return {
            "target": self.target, "suites": list(self.suites),
            "languages": sorted(self.languages) if self.languages else None,
            "limit": self.limit, "samples": self.samples, "params": self.params.to_dict(),
            "judge": self.judge, "conditions": list(self.conditions), "guard": self.guard,
            # engine, device, dtype … change the answers: a run with another engine is another run
            "target_options": {k: str(v) for k, v in sorted(self.target_options.items())
                               if k not in _PACE_OPTIONS},
        }

    def run_id(self) -> str:
        ident = json.dumps(self.identity(), sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:10]
        slug = re.sub(r"[^a-z0-9]+", "-", self.target.lower().split("@")[0]).strip("-")[:32] or "run"
        return f"{slug}-{digest}"

    def validate(self) -> None:
        if not self.suites:
            raise ConfigError("no suite given: use -s SUITE[,SUITE...]")
        if self.samples < 1:
            raise ConfigError("--samples must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ConfigError("--limit must be at least 1")
        if not 0.0 <= self.params.temperature <= 5.0:
            raise ConfigError("--temperature must be between 0 and 5")
        if not 0.0 < self.params.top_p <= 1.0:
            raise ConfigError("--top-p must be in (0, 1]")
        if self.params.max_tokens < 1:
            raise ConfigError("--max-tokens must be at least 1")
        if not self.conditions:
            raise ConfigError("no condition to run (the plain probe is condition '')")
        ids = [make_condition(c).id for c in self.conditions]
        if len(set(ids)) != len(ids):
            raise ConfigError("a condition is listed twice (after normalisation: " + ", ".join(ids) + ")")
        if self.guard:
            from latentwall.guards import make_guard

            make_guard(self.guard)  # a bad spec fails before any run record is written

    @property
    def target_label(self) -> str:
        """How tables name this target: guarded and bare runs of one model must differ."""
        safe = redact_spec(self.target)
        return f"{safe} [guard {self.guard}]" if self.guard else safe


@dataclass
class RunOutcome:
    run_id: str
    status: str  # finished | incomplete | interrupted
    store_path: Path
    total: int
    already_done: int
    new: int = 0
    cached: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    pipeline_s: float = 0.0  # from the first request to the last write, without set-up
    counts: dict[str, int] = field(default_factory=dict)
    signal: int | None = None  # the signal that interrupted the run

    def to_dict(self) -> dict[str, Any]:
        """The `outcome` block of `run --json`."""
        return {
            "run_id": self.run_id, "status": self.status, "store": str(self.store_path),
            "total": self.total, "already_done": self.already_done, "new": self.new,
            "cached": self.cached, "errors": self.errors, "elapsed_s": round(self.elapsed_s, 3),
            "pipeline_s": round(self.pipeline_s, 3),
        }

    def line(self) -> str:
        return (f"run {self.run_id}: {self.status}; {self.total} responses "
                f"({self.already_done} already done, {self.new} new, {self.cached} from cache, "
                f"{self.errors} errors) in {self.elapsed_s:.1f}s; store {self.store_path}")


@dataclass
class _Work:
    probe: Probe
    condition: str
    sample: int
    request: Request
    cache_key: str


def _chunks(it: Iterator[Probe], n: int) -> Iterator[list[Probe]]:
    chunk: list[Probe] = []
    for p in it:
        chunk.append(p)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Runner:
    """One run of `config`. `target`, when given, is an already-built target for
    `config.target` (made with the same options): several runs then share one loaded model,
    and the caller, who made it, closes it."""

    def __init__(self, config: RunConfig, progress: ProgressSink | None = None,
                 target: Target | None = None) -> None:
        config.validate()
        self.config = config
        self.progress = progress or NullProgress()
        self._given_target = target
        self.run_id = config.run_id() if not config.fresh else f"{config.run_id()}-{int(time.time())}"
        self._stop = asyncio.Event()
        self._signal: int | None = None
        self.conditions: list[Condition] = [make_condition(c) for c in config.conditions]

    def _probes(self) -> Iterator[Probe]:
        return iter_selected(self.config.suites, self.config.languages, self.config.limit)

    def _register(self, store: Store) -> int:
        """Create or reopen the run; store its probes; return the number of work units."""
        cfg = self.config
        safe = redact_spec(cfg.target)
        ident = cfg.identity()
        ident["target"] = safe
        store.create_run(self.run_id, safe, {
            **ident, "run_dir": str(cfg.run_dir), "latentwall_version": __version__,
            "target_label": cfg.target_label,
        })
        n = units = 0
        for chunk in _chunks(self._probes(), CHUNK):
            store.add_probes(self.run_id, ((n + i, p) for i, p in enumerate(chunk)))
            n += len(chunk)
            for p in chunk:
                units += sum(1 for c in self.conditions if c.render(p, cfg.params.seed or 0) is not None)
        if n == 0:
            raise ConfigError(
                f"no probes selected from {', '.join(cfg.suites)}"
                + (f" for language(s) {', '.join(cfg.languages)}" if cfg.languages else "")
            )
        if units == 0:
            raise ConfigError(f"condition(s) {', '.join(c.id for c in self.conditions)} apply to none of the probes")
        total = units * cfg.samples
        store.update_run(self.run_id, total=total, status="running")
        return total

    async def run(self) -> RunOutcome:
        """Set up, run the pipeline, record how it ended. A set-up that fails leaves no
        phantom run behind: a new run is removed, a resumed one keeps its old status; a
        fatal error mid-run (disk full, target gone) marks the run 'failed'."""
        cfg = self.config
        t0 = time.monotonic()
        store = Store.open(cfg.run_dir)
        lock = RunLock(store.path, self.run_id)
        try:
            previous = store.get_run(self.run_id)
            lock.acquire()  # a second process on the same run stops here, before asking anything
            target: Target | None = None
            judge: Judge | None = None
            try:
                target, judge, outcome = self._set_up(store)
                if target is None or judge is None:
                    return outcome  # already finished
                self.progress.start(outcome.total, outcome.already_done, redact_spec(target.label))
                self.progress.note("starting target…")
                await target.start()
            except BaseException:
                self.progress.stop()
                with contextlib.suppress(Exception):
                    if target is not None:
                        await self._release(target)
                with contextlib.suppress(Exception):
                    if judge is not None:
                        await judge.close()
                self._undo_set_up(store, previous)
                raise
            try:
                await self._run_target(store, target, judge, outcome)
            except BaseException:
                with contextlib.suppress(Exception):  # the store may be what failed
                    store.update_run(self.run_id, status="failed")
                raise
            outcome.errors = store.count_errors(self.run_id)
            if self._stop.is_set():
                outcome.status, outcome.signal = "interrupted", self._signal
            else:
                outcome.status = "incomplete" if outcome.errors else "finished"
            store.update_run(self.run_id, status=outcome.status)
            outcome.counts = store.counts(self.run_id)
            outcome.elapsed_s = time.monotonic() - t0
            return outcome
        finally:
            lock.release()
            store.close()

    def _set_up(self, store: Store) -> tuple[Target | None, Judge | None, RunOutcome]:
        """Register the run; build its target and judge unless it is already finished."""
        cfg = self.config
        total = self._register(store)
        done = store.count_done(self.run_id, cfg.judge)
        outcome = RunOutcome(self.run_id, "running", store.path, total, done)
        if done >= total:
            outcome.status = "finished"
            store.update_run(self.run_id, status="finished")
            outcome.counts = store.counts(self.run_id)
            return None, None, outcome
        target = self._given_target or make_target(cfg.target, **cfg.target_options)
        if cfg.guard:
            from latentwall.guards import wrap_target

            target = wrap_target(target, cfg.guard)
        prefill = [c.id for c in self.conditions if c.needs_prefill]
        if prefill and not target.supports_prefill:
            raise ConfigError(
                f"condition(s) {', '.join(prefill)} prefill the answer, which target kind "
                f"'{target.kind}' does not support"
            )
        return target, make_judge(cfg.judge), outcome

    async def _release(self, target: Target) -> None:
        """Close what this run made: its target, or only the guard around a given target."""
        if self._given_target is None:
            await target.close()
        elif target is not self._given_target:
            await target.guard.close()  # type: ignore[attr-defined]  # the GuardedTarget made here

    def _undo_set_up(self, store: Store, previous: dict[str, Any] | None) -> None:
        """A new run that never started is removed; a resumed one gets its status back."""
        with contextlib.suppress(Exception):
            if previous is None:
                store.delete_run(self.run_id)
            else:
                store.update_run(self.run_id, status=previous["status"])

    async def _run_target(self, store: Store, target: Target, judge: Judge, outcome: RunOutcome) -> None:
        try:
            store.update_run(self.run_id, target_info=target.describe())
            self.progress.note("")
            t_pipe = time.monotonic()
            await self._pipeline(store, target, judge, outcome)
            outcome.pipeline_s = time.monotonic() - t_pipe
        finally:
            self.progress.stop()
            await self._release(target)
            await judge.close()

    def request_stop(self, signum: int | None = None) -> None:
        """Ctrl-C (or SIGTERM, SIGHUP): stop feeding the target; what has arrived is written,
        the rest resumes later."""
        if self._signal is None:
            self._signal = signum
        self._stop.set()

    async def _pipeline(self, store: Store, target: Target, judge: Judge, outcome: RunOutcome) -> None:
        cfg = self.config
        batch_q: asyncio.Queue[list[_Work] | None] = asyncio.Queue(maxsize=max(2, target.concurrency * 2))
        out_q: asyncio.Queue[ResultRecord | None] = asyncio.Queue(maxsize=8192)
        fingerprint = target.fingerprint

        async def judge_and_queue(works: list[_Work], responses: list[Response]) -> None:
            inputs = [
                JudgeInput(
                    # The probe's own text: a judge reads the answer against what was asked,
                    # not against its base64 or role-play wrapping.
                    prompt=w.probe.text, response=r.text, reasoning=r.reasoning,
                    language=w.probe.language, status=r.status, finish_reason=r.finish_reason,
                    category=w.probe.category,
                )
                for w, r in zip(works, responses, strict=True)
            ]
            try:
                judgements = await judge.ajudge_batch(inputs)
            except Exception as exc:  # a judge bug must not lose the responses
                judgements = [Judgement(Status.JUDGE_ERROR, f"judge failed: {exc}")] * len(works)
            for w, r, j in zip(works, responses, judgements, strict=True):
                await out_q.put(ResultRecord(
                    self.run_id, w.probe.id, w.condition, w.sample, w.cache_key, w.request.prompt, r, j,
                    cfg.judge,
                ))

        async def producer() -> None:
            pending: list[_Work] = []
            for chunk in _chunks(self._probes(), CHUNK):
                if self._stop.is_set():
                    break
                done = store.done_keys(self.run_id, [p.id for p in chunk])
                works: list[_Work] = []
                for probe in chunk:
                    for cond in self.conditions:
                        prompt = cond.render(probe, cfg.params.seed or 0)
                        if prompt is None:
                            continue
                        for s in range(cfg.samples):
                            if (probe.id, cond.id, s) in done:
                                continue
                            req = Request(prompt.messages, cfg.params, s, probe.id, prefill=prompt.prefill)
                            works.append(_Work(probe, cond.id, s, req, req.cache_key(fingerprint)))
                if not works:
                    continue
                # --fresh asks everything anew; its answers then replace the cached ones.
                hits = {} if cfg.fresh else store.cache_get([w.cache_key for w in works])
                cached_works, cached_resps = [], []
                for w in works:
                    hit = hits.get(w.cache_key)
                    if hit is None:
                        pending.append(w)
                        if len(pending) >= target.batch_size:
                            await batch_q.put(pending)
                            pending = []
                    else:
                        cached_works.append(w)
                        cached_resps.append(Response(cached=True, **hit))
                if cached_works:
                    outcome.cached += len(cached_works)
                    await judge_and_queue(cached_works, cached_resps)
            if pending and not self._stop.is_set():
                await batch_q.put(pending)

        async def worker() -> None:
            while True:
                batch = await batch_q.get()
                if batch is None:
                    return
                try:
                    responses = await target.generate([w.request for w in batch])
                except TargetError:
                    raise
                except Exception as exc:  # a failure of one batch is an ERROR status, not a crash
                    msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                    responses = [Response(status=Status.ERROR, error=msg) for _ in batch]
                if len(responses) != len(batch):
                    responses = [Response(status=Status.ERROR, error="target returned a wrong number of responses")
                                 for _ in batch]
                outcome.new += len(batch)
                await judge_and_queue(batch, responses)

        async def writer() -> None:
            while True:
                rec = await out_q.get()
                if rec is None:
                    return
                records = [rec]
                end = False
                while len(records) < WRITE_BATCH and not out_q.empty():
                    nxt = out_q.get_nowait()
                    if nxt is None:
                        end = True
                        break
                    records.append(nxt)
                store.write_results(records, refresh_cache=cfg.fresh)
                self.progress.advance(len(records))
                failed = sum(1 for r in records if r.response.status == Status.ERROR)
                if failed:
                    outcome.errors += failed
                    self.progress.note(f"{outcome.errors} errors (re-run to retry)")
                if end:
                    return

        writer_task = asyncio.create_task(writer())
        # No more workers than requests left: a huge --concurrency costs nothing extra.
        n_workers = max(1, min(target.concurrency, outcome.total - outcome.already_done))
        workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
        producer_task = asyncio.create_task(producer())
        stop_task = asyncio.create_task(self._stop.wait())
        feeding = asyncio.create_task(self._feed_done(producer_task, batch_q, workers))
        try:
            # Until everything is fed and answered, or Ctrl-C, or a fatal error.
            finished, _ = await asyncio.wait(
                {feeding, stop_task, writer_task}, return_when=asyncio.FIRST_COMPLETED
            )
            if writer_task in finished:
                writer_task.result()  # re-raises a store error (disk full)
            if feeding in finished:
                feeding.result()  # re-raises a fatal target error
        finally:
            for t in (feeding, producer_task, *workers, stop_task):
                t.cancel()
            await asyncio.gather(feeding, producer_task, *workers, stop_task, return_exceptions=True)
            if not writer_task.done():
                # Flush what has arrived: every response that came back is persisted.
                await out_q.put(None)
                await writer_task

    @staticmethod
    async def _feed_done(
        producer_task: asyncio.Task[None], batch_q: asyncio.Queue[list[_Work] | None],
        workers: list[asyncio.Task[None]],
    ) -> None:
        await producer_task
        for _ in workers:
            await batch_q.put(None)
        await asyncio.gather(*workers)


def _estimate_tokens(text: str) -> int:
    """Rough token count without a tokenizer: ~4 Latin characters or ~1 CJK character per token."""
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af")
    return cjk + (len(text) - cjk + 3) // 4


def plan_run(config: RunConfig) -> dict[str, Any]:
    """What a run would send, before anything is sent (`run --dry-run`)."""
    config.validate()
    conditions = [make_condition(c) for c in config.conditions]
    per_cond: dict[str, int] = {c.id: 0 for c in conditions}
    probes = prompt_tokens = 0
    for probe in iter_selected(config.suites, config.languages, config.limit):
        probes += 1
        for c in conditions:
            prompt = c.render(probe, config.params.seed or 0)
            if prompt is None:
                continue
            per_cond[c.id] += config.samples
            text = "".join(m.get("content", "") for m in prompt.messages) + (prompt.prefill or "")
            prompt_tokens += (_estimate_tokens(text) + 8 * len(prompt.messages)) * config.samples
    if probes == 0:
        raise ConfigError(f"no probes selected from {', '.join(config.suites)}")
    requests = sum(per_cond.values())
    done = 0
    run_id = config.run_id()
    if (Path(config.run_dir) / DB_NAME).exists():
        with Store.open(config.run_dir, readonly=True) as store:
            done = store.count_done(run_id, config.judge)
    return {
        "run_id": run_id, "target": redact_spec(config.target), "suites": list(config.suites),
        "probes": probes, "conditions": per_cond, "samples": config.samples, "requests": requests,
        "already_done": done, "to_send": max(0, requests - done),
        "prompt_tokens_estimate": prompt_tokens,
        "completion_tokens_max": requests * config.params.max_tokens,
    }


async def run_audit_async(config: RunConfig, progress: ProgressSink | None = None,
                          target: Target | None = None) -> RunOutcome:
    """`run_audit` inside a running event loop; `target` as in `Runner`."""
    runner = Runner(config, progress, target)
    loop = asyncio.get_running_loop()
    installed = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, runner.request_stop, int(sig))
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        return await runner.run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def run_audit(config: RunConfig, progress: ProgressSink | None = None) -> RunOutcome:
    """Run (or resume) an audit; Ctrl-C, SIGTERM or SIGHUP stop cleanly and the same call resumes."""
    return asyncio.run(run_audit_async(config, progress))
