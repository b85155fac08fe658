"""The llama.cpp engine behind `builtin` and `hf:FILE.gguf` (`engine=llamacpp`).

A helper module: it registers no target kind. `llama_cpp` (the optional `llamacpp`
extra, an sdist that compiles llama.cpp) is imported only when a target asks for this
engine, never at registry discovery.

The prompt is rendered here, with the GGUF's own chat template through the same code
as the transformers engine (`render_chat`), and completed with `create_completion`:
that is what lets a prefill be appended, which `create_chat_completion` cannot do.

Reproducibility: llama.cpp is not thread-safe, so one request runs at a time under a
lock, and the context is reset before each one (no KV prefix reuse from the previous
request), so an answer does not depend on what ran before it. Sampling is plain
temperature + top-p, like the transformers engine (llama-cpp-python's default top-k 40
and min-p 0.05 are switched off); seeds are per request. The two engines still give
different text for the same seed (other kernels, other random streams), which is why
the target fingerprint names the engine.
"""

from __future__ import annotations

import gc
import os
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

from latentwall.errors import TargetError
from latentwall.targets._base import Request, Response
from latentwall.targets._hf import Checkpoint, render_chat, split_reasoning, think_opened

LLAMACPP_HINT = ("engine llamacpp needs llama-cpp-python: pip install 'latentwall[llamacpp]' "
                 "(compiles llama.cpp, ~8 min)")
_SEED_SPACE = 0xFFFFFFFF  # llama.cpp seeds are uint32, and 0xFFFFFFFF means "random"


def import_llama_cpp() -> Any:
    """Import llama_cpp, or say in one line how to get it."""
    try:
        import llama_cpp
    except ImportError:
        raise TargetError(LLAMACPP_HINT) from None
    return llama_cpp


def llamacpp_available() -> bool:
    """Whether llama_cpp imports (what engine=auto decides on)."""
    try:
        import_llama_cpp()
    except TargetError:
        return False
    return True


def _default_threads() -> int:
    """Every CPU this process may use (llama-cpp-python's own default is half of them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class LlamaCppEngine:
    """Loads a GGUF file with llama.cpp and answers requests one by one; blocking (call it
    in a worker thread). Same surface as `HFEngine`: load, close, describe, generate."""

    engine = "llamacpp"

    def __init__(self, ckpt: Checkpoint, threads: int | None = None, n_ctx: int = 4096,
                 name: str | None = None) -> None:
        if not ckpt.gguf_file:
            raise TargetError(f"{ckpt.path}: engine llamacpp runs .gguf files only")
        self.llama_cpp = import_llama_cpp()  # fail at construction, before a run starts
        self.ckpt, self.n_ctx = ckpt, n_ctx
        self.threads = threads or _default_threads()
        self.device = "cpu"
        self.name = name or ckpt.name
        self.model: Any = None
        self._formatter: Any = None
        self._lock = threading.Lock()
        self.load_s: float | None = None

    @property
    def fingerprint_tag(self) -> str:
        return "#llamacpp"

    # -- loading -------------------------------------------------------------------
    def load(self) -> None:
        with self._lock:
            if self.model is not None:
                return
            t0 = time.perf_counter()
            try:
                model = self.llama_cpp.Llama(
                    model_path=str(self.ckpt.path), n_ctx=self.n_ctx, n_threads=self.threads,
                    n_threads_batch=self.threads, seed=0, verbose=False, logits_all=False,
                )
            except Exception as exc:  # unsupported architecture, corrupt file, n_ctx too large…
                raise TargetError(f"cannot load {self.ckpt.path} with llama.cpp: "
                                  f"{type(exc).__name__}: {exc}") from exc
            template = model.metadata.get("tokenizer.chat_template")
            if template:
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                self._formatter = Jinja2ChatFormatter(
                    template=template, eos_token=self._token_text(model, model.token_eos()),
                    bos_token=self._token_text(model, model.token_bos()),
                    add_generation_prompt=True,
                )
            self.model = model
            self.load_s = time.perf_counter() - t0

    @staticmethod
    def _token_text(model: Any, token: int) -> str:
        if token < 0:
            return ""
        return model.detokenize([token], special=True).decode("utf-8", errors="replace")

    def close(self) -> None:
        with self._lock:
            if self.model is not None and hasattr(self.model, "close"):
                self.model.close()
            self.model = self._formatter = None
        gc.collect()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"engine": self.engine, "path": str(self.ckpt.path), "format": "gguf",
                               "device": self.device, "n_ctx": self.n_ctx, "threads": self.threads,
                               "llama_cpp": getattr(self.llama_cpp, "__version__", None)}
        if self.model is not None:
            meta = self.model.metadata
            out.update(model_type=meta.get("general.architecture"), n_params=self.model.n_params()
                       if hasattr(self.model, "n_params") else None,
                       load_s=round(self.load_s or 0.0, 2))
        return out

    # -- prompts -------------------------------------------------------------------
    def render(self, req: Request) -> tuple[str, bool]:
        """Prompt text (chat template + prefill) and whether BOS must be added."""
        fmt = self._formatter

        def apply(msgs: list[dict[str, str]]) -> str:
            return fmt(messages=msgs).prompt

        return render_chat(req.messages, req.prefill, apply if fmt is not None else None)

    # -- generation ----------------------------------------------------------------
    def generate(self, batch: Sequence[Request]) -> list[Response]:
        """Answer each request in turn; one failure is one ERROR response."""
        if self.model is None:
            raise TargetError(f"{self.name}: not started")
        out = []
        with self._lock:
            for req in batch:
                try:
                    out.append(self._generate_one(req))
                except Exception as exc:
                    out.append(Response(status="ERROR", model=self.name,
                                        error=f"{type(exc).__name__}: {exc}"))
        return out

    def _generate_one(self, req: Request) -> Response:
        model, p = self.model, req.params
        text, special = self.render(req)
        ids = model.tokenize(text.encode("utf-8"), add_bos=special, special=True)
        seed = req.seed()
        seed = (seed if seed is not None else random.randrange(2**63)) % _SEED_SPACE
        t0 = time.perf_counter()
        model.reset()  # no KV reuse across requests: an answer must not depend on its predecessor
        result = model.create_completion(
            ids, max_tokens=max(1, p.max_tokens), temperature=max(0.0, float(p.temperature)),
            top_p=float(p.top_p), top_k=0, min_p=0.0, typical_p=1.0, repeat_penalty=1.0,
            seed=seed, stop=[],
        )
        latency = time.perf_counter() - t0
        choice = result["choices"][0]
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        used = int(result.get("usage", {}).get("completion_tokens", 0))
        if finish == "stop":
            used += 1  # the end-of-turn token, counted like the transformers engine counts it
        answer, reasoning = split_reasoning(choice.get("text") or "", think_opened(text))
        return Response(
            text=answer, reasoning=reasoning, finish_reason=finish,
            status="TRUNCATED" if finish == "length" else None, model=self.name,
            latency_s=latency, usage={"prompt_tokens": len(ids), "completion_tokens": used},
        )
