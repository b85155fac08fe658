"""The llama.cpp engine behind `builtin` and `hf:FILE.gguf` (`engine=llamacpp`).

A helper module: it registers no target kind. `llama_cpp` (the optional `llamacpp`
extra, an sdist that compiles llama.cpp) is imported only when a target asks for this
engine, never at registry discovery.

The prompt is rendered here, with the GGUF's own chat template through the same code
as the transformers engine (`render_chat`): that is what lets a prefill be appended,
which `create_chat_completion` cannot do. Tokens are drawn from `Llama.generate` and
cut with the transformers engine's `cut_completion`, not through `create_completion`,
whose multi-byte guard skips its max_tokens check and so overruns max_tokens when an
answer is cut inside a Chinese character.

Threads: llama.cpp is not thread-safe, so one request runs at a time, under a lock, on
one dedicated worker thread that also loads and frees the model. One thread, not
whichever thread the caller happens to use: llama.cpp parallelises with OpenMP, which
keeps a thread team per calling thread, and once a second team exists every decode is
about twice as slow (measured on 2 cores: 0.59 s vs 1.2 s per 32-token answer). torch's
OpenMP threads do the same: in a process where torch has computed anything, llama.cpp
runs at about half speed, so bench/generation.py times each engine in its own process.

Reproducibility: the context is reset before each request (no KV prefix reuse from the
previous one), so an answer does not depend on what ran before it. Sampling is plain
temperature + top-p, like the transformers engine (llama-cpp-python's default top-k 40
and min-p 0.05 are switched off); seeds are per request. The two engines still give
different text for the same seed (other kernels, other random streams), which is why
the target fingerprint names the engine.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from latentwall.errors import TargetError
from latentwall.targets._base import Request, Response
from latentwall.targets._local import Checkpoint, cut_completion, render_chat
from latentwall.targets._reasoning import split_reasoning, think_opened

LLAMACPP_HINT = ("engine llamacpp needs llama-cpp-python: pip install 'latentwall[llamacpp]' "
                 "(compiles llama.cpp, ~8 min)")
_SEED_SPACE = 0xFFFFFFFF  # llama.cpp seeds are uint32, and 0xFFFFFFFF means "random"
_T = TypeVar("_T")


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
    """Loads a GGUF file with llama.cpp and answers requests one by one. Same surface as
    `HFEngine` (load, close, describe, generate); the blocking calls hand their work to the
    engine's own thread and wait for it, so they may be called from any thread."""

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
        self._is_eog: Callable[[int], bool] = lambda token: False
        self._lock = threading.Lock()  # the model: one request (or load, or close) at a time
        self._worker_lock = threading.Lock()  # creating and retiring the worker thread
        self._worker: concurrent.futures.ThreadPoolExecutor | None = None
        self.load_s: float | None = None

    @property
    def fingerprint_tag(self) -> str:
        return "#llamacpp"

    def _on_worker(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run `fn` on the engine's one thread (created on first use) and wait for it."""
        with self._worker_lock:
            if self._worker is None:
                self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="llamacpp")
            future = self._worker.submit(fn, *args)
        return future.result()

    # -- loading -------------------------------------------------------------------
    def load(self) -> None:
        self._on_worker(self._load)

    def _load(self) -> None:
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
            self._is_eog = self._eog_test(model)
            self.model = model
            self.load_s = time.perf_counter() - t0

    def _eog_test(self, model: Any) -> Callable[[int], bool]:
        """End-of-generation tokens (EOS, <|im_end|>, <|eot_id|>, …) as llama.cpp's vocab knows them."""
        try:
            vocab, is_eog = model._model.vocab, self.llama_cpp.llama_vocab_is_eog
        except AttributeError:  # an older or different binding: EOS only
            eos = model.token_eos()
            return lambda token: token == eos
        return lambda token: bool(is_eog(vocab, token))

    @staticmethod
    def _token_text(model: Any, token: int) -> str:
        if token < 0:
            return ""
        return model.detokenize([token], special=True).decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._worker is None:
            return
        self._on_worker(self._close)
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=True)  # the thread ends; a later load() starts a new one
        gc.collect()

    def _close(self) -> None:
        with self._lock:
            if self.model is not None and hasattr(self.model, "close"):
                self.model.close()
            self.model = self._formatter = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"engine": self.engine, "path": str(self.ckpt.path), "format": "gguf",
                               "device": self.device, "n_ctx": self.n_ctx, "threads": self.threads,
                               "llama_cpp": getattr(self.llama_cpp, "__version__", None)}
        if self.model is not None:
            meta = self.model.metadata
            inner = getattr(self.model, "_model", None)
            out.update(model_type=meta.get("general.architecture"),
                       n_params=inner.n_params() if hasattr(inner, "n_params") else None,
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
        return self._on_worker(self._generate, batch)

    def _generate(self, batch: Sequence[Request]) -> list[Response]:
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
        room = self.n_ctx - len(ids)  # llama.cpp cannot go past its context
        if room < 1:
            raise ValueError(f"the prompt ({len(ids)} tokens) does not fit n_ctx={self.n_ctx}")
        limit = min(max(1, p.max_tokens), room)
        seed = req.seed()
        t0 = time.perf_counter()
        model.reset()  # no KV reuse across requests: an answer must not depend on its predecessor
        model.set_seed((seed if seed is not None else random.randrange(2**63)) % _SEED_SPACE)
        new: list[int] = []
        eog: set[int] = set()
        tokens = model.generate(ids, temp=max(0.0, float(p.temperature)), top_p=float(p.top_p),
                                top_k=0, min_p=0.0, typical_p=1.0, repeat_penalty=1.0)
        with contextlib.closing(tokens):
            for token in tokens:
                new.append(token)
                if self._is_eog(token):
                    eog.add(token)
                    break
                if len(new) >= limit:
                    break
        keep, used, finish = cut_completion(new, eog, limit)
        raw = model.detokenize(keep, prev_tokens=ids).decode("utf-8", errors="replace")
        if finish == "length":  # a cut through a multi-byte character decodes to U+FFFD
            raw = raw.rstrip("\ufffd")
        answer, reasoning = split_reasoning(raw, think_opened(text))
        return Response(
            text=answer, reasoning=reasoning, finish_reason=finish,
            status="TRUNCATED" if finish == "length" else None, model=self.name,
            latency_s=time.perf_counter() - t0,
            usage={"prompt_tokens": len(ids), "completion_tokens": used},
        )
