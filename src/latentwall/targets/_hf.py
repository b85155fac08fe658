"""`hf:PATH`: a local transformers checkpoint (safetensors) or GGUF file, run in-process.

torch and transformers are imported only when a target starts: the registry imports
every targets module, and the core install has neither.

Seed guarantee (temperature > 0): every request samples from its own
`torch.Generator` seeded with `request.seed()`, drawing exactly one sample per step.
So a request's output depends only on the checkpoint, dtype, device and the request
itself (messages, prefill, params, seed) — not on which other requests share its batch,
their order, or the batch size. The one caveat is floating point: padding changes the
shapes of the matrix products, which moves logits by ~1e-6 and can flip a token only
where two candidates are that close (at a top-p boundary or the sampled threshold).
Greedy decoding (temperature == 0) has the same property. A request with seed None is
sampled from a fresh random seed and is not reproducible.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from latentwall.errors import ConfigError, TargetError
from latentwall.targets._adapter import Adapter, merge_adapter, resolve_adapter
from latentwall.targets._base import Request, Response, Target, register_target
from latentwall.targets._local import (
    MODELS_EXTRA_HINT,
    Checkpoint,
    cut_completion,
    import_torch_transformers,
    render_chat,
    resolve_checkpoint,
)
from latentwall.targets._reasoning import split_reasoning, think_opened

DTYPES = ("auto", "float32", "float16", "bfloat16")
# "auto": llama.cpp when it is importable and the weights are one GGUF file on the CPU.
ENGINES = ("transformers", "llamacpp", "auto")


@dataclass(slots=True)
class _Prepared:
    """A tokenized request: its place in the batch, prompt ids, and whether <think> is open."""

    index: int
    request: Request
    ids: list[int]
    opened: bool


class _RowSampler:
    """Logits processor that samples each row with its own generator, then one-hots the choice.

    generate() runs greedy, so it picks exactly the token sampled here; greedy rows
    (temperature 0) pass through untouched. One draw per row per step keeps each row's
    random stream independent of its batch neighbours.
    """

    def __init__(self, torch: Any, temps: list[float], top_ps: list[float], seeds: list[int],
                 device: Any) -> None:
        self.torch = torch
        self.temps, self.top_ps = temps, top_ps
        self.gens = [torch.Generator(device=device).manual_seed(s) for s in seeds]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        torch = self.torch
        out = scores.clone()
        for i, (t, top_p) in enumerate(zip(self.temps, self.top_ps, strict=True)):
            if t <= 0:
                continue
            probs = torch.softmax(scores[i].float() / t, dim=-1)
            if top_p < 1.0:
                sp, idx = torch.sort(probs, descending=True)
                drop = (sp.cumsum(-1) - sp) >= top_p  # keep the smallest set reaching top_p
                drop[0] = False
                probs = torch.zeros_like(probs).scatter_(0, idx, sp.masked_fill(drop, 0.0))
            tok = torch.multinomial(probs, 1, generator=self.gens[i])
            out[i].fill_(float("-inf"))
            out[i, tok] = 0.0
        return out


@contextlib.contextmanager
def _gguf_parse_once() -> Iterator[None]:
    """Halve GGUF load time and keep the terminal quiet, for the duration of one load.

    transformers parses the file three times (tokenizer, config, weights) and rebuilds
    gguf's tensor-name map once per submodule; both results are read-only, so memoise
    them (the weights come out bit-identical). Its de-quantising loop also draws its own
    tqdm bar, which would tear through the runner's progress display.
    """
    try:
        import gguf
        from transformers import modeling_gguf_pytorch_utils as hf_gguf
    except ImportError:
        yield
        return
    saved = [(mod, attr, getattr(mod, attr)) for mod, attr in
             ((gguf, "GGUFReader"), (gguf, "get_tensor_name_map"), (hf_gguf, "tqdm"))
             if hasattr(mod, attr)]
    originals = {attr: value for _, attr, value in saved}
    readers: dict[str, Any] = {}

    def reader(path: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return originals["GGUFReader"](path, *args, **kwargs)
        key = os.fspath(path)
        if key not in readers:
            readers[key] = originals["GGUFReader"](path)
        return readers[key]

    def quiet(iterable: Any, *args: Any, **kwargs: Any) -> Any:
        return iterable

    replacements = {"GGUFReader": reader, "tqdm": quiet}
    if "get_tensor_name_map" in originals:
        replacements["get_tensor_name_map"] = functools.lru_cache(maxsize=None)(
            originals["get_tensor_name_map"])
    for mod, attr, _ in saved:
        setattr(mod, attr, replacements[attr])
    try:
        yield
    finally:
        for mod, attr, value in saved:
            setattr(mod, attr, value)
        readers.clear()


class _RepetitionPenalty:
    """CTRL-style penalty on tokens this row has already generated (not the prompt, not EOS).

    transformers' own processor also penalises every prompt token, padding and the chat
    template's end-of-turn marker included, which makes a small model ramble on and makes a
    row's output depend on its padding. Here a row's penalty depends on its own answer only.
    """

    def __init__(self, torch: Any, prompt_len: int, penalty: float, eos_ids: set[int]) -> None:
        self.torch, self.prompt_len, self.penalty = torch, prompt_len, penalty
        self.eos = sorted(eos_ids)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        done = input_ids[:, self.prompt_len:]
        if done.shape[1] == 0:
            return scores
        seen = self.torch.zeros_like(scores, dtype=self.torch.bool).scatter_(1, done, True)
        if self.eos:
            seen[:, self.eos] = False
        penalised = self.torch.where(scores > 0, scores / self.penalty, scores * self.penalty)
        return self.torch.where(seen, penalised, scores)


class _RowMaxTokens:
    """Stopping criterion: each row stops at its own max_tokens."""

    def __init__(self, torch: Any, prompt_len: int, max_tokens: list[int], device: Any) -> None:
        self.prompt_len = prompt_len
        self.limits = torch.tensor(max_tokens, device=device)

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        return (input_ids.shape[1] - self.prompt_len) >= self.limits


class HFEngine:
    """Loads a checkpoint and runs batched chat generation; blocking (call it in a thread)."""

    engine = "transformers"

    def __init__(self, ckpt: Checkpoint, device: str = "cpu", dtype: str = "auto",
                 threads: int | None = None, name: str | None = None, *,
                 adapter: Adapter | None = None, repetition_penalty: float = 1.0) -> None:
        self.ckpt, self.device, self.dtype_opt, self.threads = ckpt, device, dtype, threads
        self.adapter, self.repetition_penalty = adapter, repetition_penalty
        self.name = name or (f"{ckpt.name}+{adapter.directory.name}" if adapter else ckpt.name)
        self.merged_modules: list[str] = []
        self.model: Any = None
        self.tokenizer: Any = None
        self.torch: Any = None
        self.eos_ids: set[int] = set()
        self.pad_id = 0
        self.load_s: float | None = None
        self.transformers_version: str | None = None

    # -- loading -------------------------------------------------------------------
    def _torch_dtype(self) -> Any:
        torch = self.torch
        if self.dtype_opt != "auto":
            return getattr(torch, self.dtype_opt)
        if self.device.startswith("cuda") and torch.cuda.is_available():
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32

    def load(self) -> None:
        """Load tokenizer and weights offline; never trusts remote code, never unpickles."""
        t0 = time.perf_counter()
        torch, transformers = import_torch_transformers()
        self.torch, self.transformers_version = torch, transformers.__version__
        if self.threads:
            torch.set_num_threads(self.threads)
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise TargetError(f"device {self.device!r} asked for, but torch sees no CUDA device")
        if self.ckpt.gguf_file:
            try:
                import gguf  # noqa: F401
            except ImportError:
                raise TargetError(f"GGUF files need the gguf package; {MODELS_EXTRA_HINT}") from None
        kw: dict[str, Any] = {"local_files_only": True, "trust_remote_code": False}
        if self.ckpt.gguf_file:
            kw["gguf_file"] = self.ckpt.gguf_file
        bars = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()  # the runner owns the terminal
        fast = _gguf_parse_once() if self.ckpt.gguf_file else contextlib.nullcontext()
        try:
            with fast:
                tok = transformers.AutoTokenizer.from_pretrained(str(self.ckpt.directory), **kw)
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    str(self.ckpt.directory), dtype=self._torch_dtype(),
                    use_safetensors=None if self.ckpt.gguf_file else True, **kw,
                )
        except Exception as exc:  # unsupported architecture, corrupt file, missing gguf support…
            raise TargetError(f"cannot load {self.ckpt.path}: {type(exc).__name__}: {exc}") from exc
        finally:
            if bars:
                transformers.utils.logging.enable_progress_bar()
        if self.adapter is not None:  # in memory, in float32 before any cast to the device
            self.merged_modules = merge_adapter(model, self.adapter)
        model.to(self.device)
        model.eval()
        gen = model.generation_config
        eos: set[int] = set()
        for src in (gen.eos_token_id, tok.eos_token_id):
            if isinstance(src, int):
                eos.add(src)
            elif src:
                eos.update(int(x) for x in src)
        pad = tok.pad_token_id if tok.pad_token_id is not None else gen.pad_token_id
        if pad is None:
            pad = min(eos) if eos else 0
        # A clean generation config: only GenParams steer decoding, not the author's defaults
        # (do_sample, temperature, repetition_penalty, …) that generate() would merge in.
        model.generation_config = transformers.GenerationConfig(
            eos_token_id=sorted(eos) or None, pad_token_id=int(pad), bos_token_id=gen.bos_token_id,
        )
        self.model, self.tokenizer, self.eos_ids, self.pad_id = model, tok, eos, int(pad)
        self.load_s = time.perf_counter() - t0

    def close(self) -> None:
        self.model = self.tokenizer = None
        gc.collect()

    @property
    def fingerprint_tag(self) -> str:
        """What, besides the weights, changes the output (none for the CPU/auto default)."""
        tag = "" if (self.device, self.dtype_opt) == ("cpu", "auto") else f"#{self.device}/{self.dtype_opt}"
        if self.adapter is not None:
            tag += f"#lora:{self.adapter.digest}"
        if self.repetition_penalty != 1.0:
            tag += f"#rep:{self.repetition_penalty:g}"
        return tag

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"engine": self.engine, "path": str(self.ckpt.path),
                               "format": "gguf" if self.ckpt.gguf_file else "safetensors",
                               "device": self.device, "dtype": self.dtype_opt}
        if self.model is not None:
            out.update(model_type=getattr(self.model.config, "model_type", None),
                       n_params=sum(p.numel() for p in self.model.parameters()),
                       dtype=str(self.model.dtype).removeprefix("torch."),
                       load_s=round(self.load_s or 0.0, 2))
            out["transformers"] = self.transformers_version
        if self.adapter is not None:
            out["adapter"] = {"path": str(self.adapter.directory), "digest": self.adapter.digest,
                              "modules": len(self.merged_modules) or None}
        if self.repetition_penalty != 1.0:
            out["repetition_penalty"] = self.repetition_penalty
        return out

    # -- prompts -------------------------------------------------------------------
    def render(self, req: Request) -> tuple[str, bool]:
        """Prompt text (chat template + prefill) and whether it uses the model's special tokens."""
        tok = self.tokenizer

        def apply(msgs: list[dict[str, str]]) -> str:
            return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)

        return render_chat(req.messages, req.prefill,
                           apply if getattr(tok, "chat_template", None) else None)

    # -- generation ----------------------------------------------------------------
    def generate(self, batch: Sequence[Request]) -> list[Response]:
        """Answer a batch; if the batch as a whole fails, retry one by one so one bad
        request becomes one ERROR response."""
        if self.model is None:
            raise TargetError(f"{self.name}: not started")
        prepared: list[_Prepared] = []
        out: list[Response | None] = [None] * len(batch)
        for i, req in enumerate(batch):
            try:
                text, special = self.render(req)
                ids = self.tokenizer(text, add_special_tokens=special)["input_ids"]
                opened = think_opened(text)
                prepared.append(_Prepared(i, req, list(ids), opened))
            except Exception as exc:
                out[i] = Response(status="ERROR", error=f"prompt: {type(exc).__name__}: {exc}",
                                  model=self.name)
        if prepared:
            try:
                for item, resp in zip(prepared, self._generate_prepared(prepared), strict=True):
                    out[item.index] = resp
            except Exception as exc:
                if len(prepared) == 1:
                    out[prepared[0].index] = Response(status="ERROR", model=self.name,
                                                   error=f"{type(exc).__name__}: {exc}")
                else:
                    for item in prepared:
                        try:
                            out[item.index] = self._generate_prepared([item])[0]
                        except Exception as one_exc:
                            out[item.index] = Response(status="ERROR", model=self.name,
                                                    error=f"{type(one_exc).__name__}: {one_exc}")
        return [r if r is not None else Response(status="ERROR", error="no response") for r in out]

    def _generate_prepared(self, items: Sequence[_Prepared]) -> list[Response]:
        torch = self.torch
        t0 = time.perf_counter()
        device = self.model.device
        width = max(len(it.ids) for it in items)
        input_ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for row, it in enumerate(items):  # LEFT padding: every prompt ends at the same column
            if it.ids:
                input_ids[row, width - len(it.ids):] = torch.tensor(it.ids, dtype=torch.long)
                mask[row, width - len(it.ids):] = 1
        params = [it.request.params for it in items]
        max_toks = [max(1, p.max_tokens) for p in params]
        temps = [float(p.temperature) for p in params]
        seeds = [s if (s := it.request.seed()) is not None else random.randrange(2**63) for it in items]
        from transformers import LogitsProcessorList, StoppingCriteriaList

        processors = LogitsProcessorList()
        if self.repetition_penalty != 1.0:
            processors.append(_RepetitionPenalty(torch, width, self.repetition_penalty, self.eos_ids))
        if any(t > 0 for t in temps):
            top_ps = [float(p.top_p) for p in params]
            processors.append(_RowSampler(torch, temps, top_ps, seeds, device))
        kwargs: dict[str, Any] = {
            "do_sample": False, "max_new_tokens": max(max_toks), "logits_processor": processors,
            "stopping_criteria": StoppingCriteriaList([_RowMaxTokens(torch, width, max_toks, device)]),
        }
        with torch.inference_mode():
            seqs = self.model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                                       **kwargs)
        new = seqs[:, width:].tolist()
        latency = time.perf_counter() - t0
        responses = []
        for row, it in enumerate(items):
            keep, used, finish = cut_completion(new[row], self.eos_ids, max_toks[row])
            raw = self.tokenizer.decode(keep, skip_special_tokens=True)
            if finish == "length":  # a cut through a multi-byte character decodes to U+FFFD
                raw = raw.rstrip("\ufffd")
            text, reasoning = split_reasoning(raw, it.opened)
            responses.append(Response(
                text=text, reasoning=reasoning, finish_reason=finish,
                status="TRUNCATED" if finish == "length" else None, model=self.name,
                latency_s=latency, usage={"prompt_tokens": len(it.ids), "completion_tokens": used},
            ))
        return responses


def _parse_options(options: dict[str, Any]) -> dict[str, Any]:
    """Coerce options that may arrive as strings from the command line; refuse unknown ones."""
    known = {"device", "dtype", "batch_size", "threads", "engine", "n_ctx", "adapter",
             "repetition_penalty"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    out = dict(options)
    try:
        out["batch_size"] = int(options.get("batch_size", 16))
        threads = options.get("threads")
        out["threads"] = int(threads) if threads not in (None, "", 0, "0") else None
        out["n_ctx"] = int(options.get("n_ctx", 4096))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"batch_size, threads and n_ctx must be integers: {exc}") from None
    if out["batch_size"] < 1 or (out["threads"] is not None and out["threads"] < 1) or out["n_ctx"] < 1:
        raise ConfigError("batch_size, threads and n_ctx must be >= 1")
    out["engine"] = str(options.get("engine", "transformers")).strip().lower()
    if out["engine"] not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {out['engine']!r}")
    out["device"] = str(options.get("device", "cpu"))
    if not out["device"].startswith(("cpu", "cuda", "mps")):
        raise ConfigError(f"device must be cpu, cuda[:N] or mps, not {out['device']!r}")
    out["dtype"] = str(options.get("dtype", "auto")).removeprefix("torch.")
    if out["dtype"] not in DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, not {out['dtype']!r}")
    try:
        out["repetition_penalty"] = float(options.get("repetition_penalty") or 1.0)
    except (TypeError, ValueError):
        raise ConfigError(f"repetition_penalty must be a number, not {options['repetition_penalty']!r}") from None
    if not 1.0 <= out["repetition_penalty"] <= 3.0:
        raise ConfigError("repetition_penalty must be between 1 (off) and 3")
    adapter = options.get("adapter")
    out["adapter"] = str(adapter) if adapter not in (None, "") else None
    return out


def _choose_engine(engine: str, ckpt: Checkpoint, device: str, dtype: str,
                   transformers_only: str | None = None) -> str:
    """Resolve 'auto' and refuse combinations llama.cpp cannot honour (before anything loads).

    `transformers_only` names an option in use that only the transformers engine implements.
    """
    if engine == "auto":
        if ckpt.gguf_file and device == "cpu" and dtype == "auto" and not transformers_only:
            from latentwall.targets._llamacpp import llamacpp_available

            if llamacpp_available():
                return "llamacpp"
        return "transformers"
    if engine == "llamacpp":
        if transformers_only:
            raise ConfigError(f"{transformers_only} applies to engine=transformers only")
        if not ckpt.gguf_file:
            raise ConfigError(f"engine llamacpp runs .gguf files only; {ckpt.path} is a safetensors "
                              "checkpoint (use engine=transformers)")
        if device != "cpu":
            raise ConfigError(f"engine llamacpp runs on the CPU here, not {device!r} "
                              "(use engine=transformers for cuda/mps)")
        if dtype != "auto":
            raise ConfigError(f"engine llamacpp computes in the GGUF file's own types; dtype={dtype!r} "
                              "applies to engine=transformers only")
    return engine


@register_target("hf")
class HFTarget(Target):
    """A local checkpoint run in-process: a real batch, concurrency 1, prefill supported.

    Options: device, dtype, batch_size, threads, adapter (a LoRA folder merged in memory),
    repetition_penalty (1 = off), and for GGUF files engine ('transformers' default,
    'llamacpp', 'auto') with n_ctx (llama.cpp context, 4096).
    """

    kind = "hf"
    usage = "hf:PATH (checkpoint folder or .gguf)"
    concurrency = 1
    supports_prefill = True

    def __init__(self, spec: str, path: str | os.PathLike[str], *, device: str = "cpu",
                 dtype: str = "auto", batch_size: int = 16, threads: int | None = None,
                 engine: str = "transformers", n_ctx: int = 4096, name: str | None = None,
                 adapter: str | os.PathLike[str] | None = None, repetition_penalty: float = 1.0) -> None:
        super().__init__(spec)
        opts = _parse_options({"device": device, "dtype": dtype, "batch_size": batch_size,
                               "threads": threads, "engine": engine, "n_ctx": n_ctx,
                               "adapter": adapter, "repetition_penalty": repetition_penalty})
        self.ckpt = resolve_checkpoint(path)
        self.batch_size = opts["batch_size"]
        lora = resolve_adapter(opts["adapter"]) if opts["adapter"] else None
        only = ("adapter" if lora else None) or (
            "repetition_penalty" if opts["repetition_penalty"] != 1.0 else None)
        chosen = _choose_engine(opts["engine"], self.ckpt, opts["device"], opts["dtype"], only)
        self.engine: Any
        if chosen == "llamacpp":
            from latentwall.targets._llamacpp import LlamaCppEngine

            self.engine = LlamaCppEngine(self.ckpt, threads=opts["threads"], n_ctx=opts["n_ctx"],
                                         name=name)
        else:
            self.engine = HFEngine(self.ckpt, opts["device"], opts["dtype"], opts["threads"], name,
                                   adapter=lora, repetition_penalty=opts["repetition_penalty"])
        self._lock = asyncio.Lock()
        self._fingerprint: str | None = None

    @classmethod
    def from_spec(cls, spec: str, rest: str, **options: Any) -> Target:
        opts = _parse_options(options)
        return cls(spec, rest, **opts)

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:  # same path, other weights, precision or engine -> other key
            self._fingerprint = f"{self.spec}#{self.ckpt.identity()}{self.engine.fingerprint_tag}"
        return self._fingerprint

    @property
    def label(self) -> str:
        return self.engine.name

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "spec": self.spec, "batch_size": self.batch_size,
                **self.engine.describe()}

    async def start(self) -> None:
        async with self._lock:
            if self.engine.model is None:
                await asyncio.to_thread(self.engine.load)

    async def generate(self, batch: Sequence[Request]) -> list[Response]:
        if not batch:
            return []
        if self.engine.model is None:
            await self.start()
        async with self._lock:
            return await asyncio.to_thread(self.engine.generate, batch)

    async def close(self) -> None:
        async with self._lock:
            self.engine.close()
