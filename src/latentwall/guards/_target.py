"""A target behind a guard: the filter runs in front of and/or behind the inner model.

Why a wrapper target: the runner, the cache and the store need nothing new. A blocked
input never reaches the model and comes back as FILTERED with the deployment's notice as
its text; a blocked output is replaced by the notice (the model's answer is not kept),
FILTERED too. FILTERED is a terminal status, never a verdict, so a guard block is never
counted as the model's refusal. The guard spec is part of the label, the description and
the cache fingerprint, so guarded and bare runs of one model stay apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentwall.guards._base import Block, Guard
from latentwall.labels import Status
from latentwall.targets import Request, Response, Target


class GuardedTarget(Target):
    """Delegates to `inner`, batching preserved: only the requests that pass go to it, in one batch."""

    kind = "guarded"

    def __init__(self, inner: Target, guard: Guard) -> None:
        super().__init__(inner.spec)
        self.inner = inner
        self.guard = guard
        # Error messages that name the target kind (e.g. prefill support) should name the model's.
        self.kind = inner.kind  # type: ignore[misc]

    # Feeding parameters are the inner target's, read live (a local model may set them in start()).
    @property  # type: ignore[override]
    def batch_size(self) -> int:
        return self.inner.batch_size

    @property  # type: ignore[override]
    def concurrency(self) -> int:
        return self.inner.concurrency

    @property  # type: ignore[override]
    def supports_prefill(self) -> bool:
        return self.inner.supports_prefill

    @property
    def fingerprint(self) -> str:
        return f"{self.inner.fingerprint}|guard:{self.guard.fingerprint}"

    @property
    def label(self) -> str:
        return f"{self.inner.label} [guard {self.guard.user_spec}]"

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "guard": self.guard.describe()}

    async def start(self) -> None:
        await self.guard.start()
        await self.inner.start()

    async def close(self) -> None:
        try:
            await self.inner.close()
        finally:
            await self.guard.close()

    def _filtered(self, block: Block, request: Request, answered: Response | None = None) -> Response:
        resp = Response(
            text=self.guard.block_message(block, request), status=Status.FILTERED, error=block.note(),
            finish_reason="content_filter", latency_s=0.0,
        )
        if answered is not None:  # the model did run: keep its cost, not its words
            resp.model, resp.usage, resp.latency_s = answered.model, dict(answered.usage), answered.latency_s
        return resp

    async def generate(self, batch: Sequence[Request]) -> list[Response]:
        n = len(batch)
        inputs: list[Block | None] = [None] * n
        if self.guard.checks_input and n:
            inputs = list(await self.guard.check_inputs(batch))
        out: list[Response | None] = [
            self._filtered(b, req) if b is not None else None for b, req in zip(inputs, batch, strict=True)
        ]
        passing = [i for i in range(n) if inputs[i] is None]
        if passing:
            reqs = [batch[i] for i in passing]
            answers = await self.inner.generate(reqs)
            if len(answers) != len(reqs):
                answers = [Response(status=Status.ERROR, error="target returned a wrong number of responses")
                           for _ in reqs]
            outputs: list[Block | None] = [None] * len(reqs)
            if self.guard.checks_output:
                # Only real answers are read: an ERROR or a provider's FILTERED has nothing to filter.
                readable = [j for j, a in enumerate(answers) if a.status not in (Status.ERROR, Status.FILTERED)]
                if readable:
                    found = await self.guard.check_outputs([reqs[j] for j in readable],
                                                           [answers[j] for j in readable])
                    for j, b in zip(readable, found, strict=True):
                        outputs[j] = b
            for j, i in enumerate(passing):
                b = outputs[j]
                out[i] = self._filtered(b, batch[i], answers[j]) if b is not None else answers[j]
        return [r if r is not None else Response(status=Status.ERROR, error="guard produced no response")
                for r in out]
