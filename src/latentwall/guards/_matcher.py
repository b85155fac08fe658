"""Multi-keyword matching in one pass over the text (Aho-Corasick).

Why not a regex alternation: with thousands of keywords (TC260-003 asks for a library of
10,000) an alternation tries every keyword at every position; an Aho-Corasick automaton
reads each character once whatever the number of keywords. The default is the pure-Python
automaton below: measured with bench/guard_throughput.py (2026-12-07) it is as fast as
pyahocorasick (a C implementation) on the shipped lists and two to three times faster on a
10,000-keyword list, where pyahocorasick's per-node child search dominates. pyahocorasick
stays selectable (`backend="pyahocorasick"`, the keyword guard's `matcher=`) and gives the
same matches.
"""

from __future__ import annotations

import importlib
from collections import deque
from collections.abc import Iterable, Iterator
from functools import lru_cache
from types import ModuleType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@lru_cache(maxsize=1)
def _pyahocorasick() -> ModuleType | None:
    try:
        mod = importlib.import_module("ahocorasick")
    except ImportError:
        return None
    # A build without unicode support would match bytes, not characters.
    return mod if getattr(mod, "unicode", True) else None


BACKENDS = ("auto", "python", "pyahocorasick")


class AhoCorasick(Generic[T]):
    """Finds every occurrence of every pattern; each pattern carries a list of payloads."""

    @staticmethod
    def installed() -> tuple[str, ...]:
        """The backends this install can run ("pyahocorasick" only when that package is there)."""
        return ("python", "pyahocorasick") if _pyahocorasick() is not None else ("python",)

    def __init__(self, patterns: Iterable[tuple[str, T]], *, backend: str = "auto") -> None:
        grouped: dict[str, list[T]] = {}
        for pattern, payload in patterns:
            if pattern:
                grouped.setdefault(pattern, []).append(payload)
        self.size = len(grouped)
        if backend not in BACKENDS:
            raise ValueError(f"unknown matcher backend {backend!r} (known: {', '.join(BACKENDS)})")
        lib = _pyahocorasick() if backend == "pyahocorasick" else None
        if backend == "pyahocorasick" and lib is None:
            raise RuntimeError("pyahocorasick is not installed (pip install pyahocorasick)")
        self.backend = "pyahocorasick" if lib is not None else "python"
        self._auto: Any = None
        if lib is not None:
            auto = lib.Automaton()
            for pattern, payloads in grouped.items():
                auto.add_word(pattern, (pattern, tuple(payloads)))
            if grouped:
                auto.make_automaton()
            self._auto = auto if grouped else None
        else:
            self._build(grouped)

    def _build(self, grouped: dict[str, list[T]]) -> None:
        goto: list[dict[str, int]] = [{}]
        out: list[list[tuple[str, tuple[T, ...]]]] = [[]]
        for pattern, payloads in grouped.items():
            state = 0
            for ch in pattern:
                nxt = goto[state].get(ch)
                if nxt is None:
                    nxt = len(goto)
                    goto[state][ch] = nxt
                    goto.append({})
                    out.append([])
                state = nxt
            out[state].append((pattern, tuple(payloads)))
        fail = [0] * len(goto)
        queue: deque[int] = deque(goto[0].values())
        while queue:
            state = queue.popleft()
            for ch, nxt in goto[state].items():
                queue.append(nxt)
                f = fail[state]
                while f and ch not in goto[f]:
                    f = fail[f]
                cand = goto[f].get(ch, 0)
                fail[nxt] = cand if cand != nxt else 0
                # Outputs of the fallback state end here too ("she" contains "he").
                out[nxt] = out[nxt] + out[fail[nxt]]
        self._goto, self._fail, self._out = goto, fail, out

    def iter(self, text: str) -> Iterator[tuple[int, str, tuple[T, ...]]]:
        """(start, pattern, payloads) for every occurrence, in order of where they end."""
        if self._auto is not None:
            for end, (pattern, payloads) in self._auto.iter(text):
                yield end - len(pattern) + 1, pattern, payloads
            return
        if self.size == 0:
            return
        goto, fail, out = self._goto, self._fail, self._out
        root = goto[0]
        state = 0
        for i, ch in enumerate(text):
            if state == 0:
                nxt = root.get(ch)
                if nxt is None:
                    continue  # the common case: a character no keyword starts with
            else:
                nxt = goto[state].get(ch)
                while nxt is None and state:
                    state = fail[state]
                    nxt = goto[state].get(ch)
                if nxt is None:
                    state = 0
                    continue
            state = nxt
            if out[state]:
                for pattern, payloads in out[state]:
                    yield i - len(pattern) + 1, pattern, payloads
