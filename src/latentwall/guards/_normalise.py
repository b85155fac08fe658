"""Text normalisation for keyword matching: what a filter undoes before it compares.

A guard's `normalise=` option names steps joined by '+':

- `zw`: strip invisible characters (zero-width space, joiners, BOM, variation selectors);
- `nfkc`: Unicode NFKC (full-width letters, ligatures, compatibility ideographs, Kangxi radicals);
- `confusables`: fold Cyrillic/Greek look-alike letters to Latin;
- `fold`: case folding;
- `t2s`: Traditional → Simplified Chinese, character for character;
- `leet`: also read digits/symbols inside words as letters (T14n4nm3n);
- `squash`: also match with every space and punctuation mark removed (T.i.a.n, 天 安 门);
- `pinyin`: also match Chinese keywords by sound (天按门, tiananmen, 六四 = liusi).

The first five rewrite the text (always in that order). The last three add a *view*: a
second reading of the text that keywords are matched against too, so each one can catch
an evasion without breaking the others. `default` is zw+nfkc+fold+t2s, `all` is every
step, `none` is exact matching.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from latentwall.errors import ConfigError
from latentwall.text import (
    CJK_RE,
    char_readings,
    confusable_fold,
    is_cjk,
    leet_read,
    pinyin_table,
    strip_invisible,
    to_simplified,
)

REWRITES: tuple[str, ...] = ("zw", "nfkc", "confusables", "fold", "t2s")
VIEWS: tuple[str, ...] = ("leet", "squash", "pinyin")
STEPS: tuple[str, ...] = REWRITES + VIEWS
DEFAULT: tuple[str, ...] = ("zw", "nfkc", "fold", "t2s")
ALIASES: dict[str, tuple[str, ...]] = {"default": DEFAULT, "all": STEPS, "none": ()}
MAX_PINYIN_FORMS = 32  # reading combinations per keyword (polyphonic characters multiply)
MIN_SQUASH_LATIN = 6  # shorter Latin keywords would match across word gaps by chance
_ASCII_ALPHA = re.compile(r"[A-Za-z]")
_LEETY_TOKEN = re.compile(r"\S+")
_INNER_APOSTROPHE = re.compile(r"(?<=[A-Za-z])['’-](?=[A-Za-z])")


@lru_cache(maxsize=1)
def _leet_chars() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(chr(o)) for o in leet_read()) + "]")


def parse_steps(value: str) -> tuple[str, ...]:
    """'nfkc+fold' -> ('nfkc', 'fold') in canonical order; aliases expand."""
    chosen: set[str] = set()
    for part in value.replace(",", "+").split("+"):
        part = part.strip().lower()
        if not part:
            continue
        if part in ALIASES:
            chosen.update(ALIASES[part])
        elif part in STEPS:
            chosen.add(part)
        else:
            raise ConfigError(
                f"unknown normalisation '{part}' (known: {', '.join(STEPS)}; or {', '.join(ALIASES)})"
            )
    return tuple(s for s in STEPS if s in chosen)


def _ascii_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass(frozen=True, slots=True)
class View:
    """One reading of a text: its string and, for pinyin, the syllable edges a match may use."""

    name: str
    text: str
    edges: frozenset[int] | None = None

    def edge_ok(self, start: int, end: int, left: bool, right: bool) -> bool:
        """Latin keywords match whole words only; in the pinyin view, whole syllables too."""
        s = self.text
        if left and start > 0 and _ascii_word(s[start - 1]) and not (self.edges and start in self.edges):
            return False
        return not (right and end < len(s) and _ascii_word(s[end]) and not (self.edges and end in self.edges))


class Normaliser:
    """Rewrites a text and builds its extra views; keywords go through the same steps."""

    def __init__(self, steps: Iterable[str]) -> None:
        self.steps = tuple(s for s in STEPS if s in set(steps))
        self._rw = set(self.steps)

    @property
    def spec(self) -> str:
        return "+".join(self.steps) or "none"

    def rewrite(self, text: str) -> str:
        rw = self._rw
        if "zw" in rw:
            text = strip_invisible(text)
        if "nfkc" in rw:
            text = unicodedata.normalize("NFKC", text)
        if "confusables" in rw:
            text = text.translate(confusable_fold())
        if "fold" in rw:
            text = text.casefold()
        if "t2s" in rw:
            text = to_simplified(text)
        return text

    # -- views ---------------------------------------------------------------------

    @staticmethod
    def deleet(text: str) -> str:
        """Read digits and symbols as letters, only inside words that also hold a Latin letter."""
        table = leet_read()

        def one(m: re.Match[str]) -> str:
            token = m.group(0)
            return token.translate(table) if _ASCII_ALPHA.search(token) else token

        return _LEETY_TOKEN.sub(one, text) if _leet_chars().search(text) else text

    @staticmethod
    def squash(text: str) -> str:
        return "".join(c for c in text if c.isalnum())

    @staticmethod
    def pinyin_view(text: str) -> View:
        """Chinese characters replaced by their first reading; edges at every syllable."""
        text = _INNER_APOSTROPHE.sub("", text)  # Tian'anmen, Xin-jiang
        if not CJK_RE.search(text):
            return View("pinyin", text, frozenset())
        parts: list[str] = []
        edges: set[int] = set()
        n = last = 0
        for m in CJK_RE.finditer(text):
            rs = char_readings(m.group(0))
            if not rs:
                continue
            before = text[last:m.start()]
            parts.append(before)
            n += len(before)
            edges.add(n)
            parts.append(rs[0])
            n += len(rs[0])
            edges.add(n)
            last = m.end()
        parts.append(text[last:])
        return View("pinyin", "".join(parts), frozenset(edges))

    def iter_views(self, text: str) -> Iterator[View]:
        """The text as every enabled view reads it, the rewritten text first; lazily, so a
        hit in the first view costs nothing more."""
        base = self.rewrite(text)
        yield View("text", base)
        if "leet" in self._rw:
            yield View("leet", self.deleet(base))
        if "squash" in self._rw:
            yield View("squash", self.squash(base))
        if "pinyin" in self._rw:
            yield self.pinyin_view(base)

    def views(self, text: str) -> list[View]:
        return list(self.iter_views(text))

    def keyword_forms(self, keyword: str) -> dict[str, list[str]]:
        """What a keyword looks like in each view; a view it cannot be matched in is left out."""
        base = self.rewrite(keyword)
        forms: dict[str, list[str]] = {"text": [base]} if base else {}
        if not base:
            return forms
        has_latin = any(c.isascii() and c.isalpha() for c in base)
        n_cjk = sum(1 for c in base if is_cjk(c))
        if "leet" in self._rw and has_latin:
            forms["leet"] = [self.deleet(base)]
        sounds = self._pinyin_forms(base) if "pinyin" in self._rw and n_cjk >= 2 else []
        if sounds:
            forms["pinyin"] = sounds
        if "squash" in self._rw:
            sq = []
            squashed = self.squash(base)
            if (n_cjk >= 2) or (n_cjk == 0 and len(squashed) >= MIN_SQUASH_LATIN):
                sq.append(squashed)
            sq += [s for s in (self.squash(f) for f in sounds) if len(s) >= MIN_SQUASH_LATIN]
            if sq:
                forms["squash"] = list(dict.fromkeys(sq))
        return forms

    @staticmethod
    def _pinyin_forms(word: str) -> list[str]:
        """Every reading of a keyword (polyphonic characters give several), capped."""
        options: list[tuple[str, ...]] = []
        known = pinyin_table().words.get(word)
        for i, ch in enumerate(word):
            if is_cjk(ch):
                rs = char_readings(ch)
                if not rs:
                    return []
                if known:
                    rs = (known[i], *[r for r in rs if r != known[i]])
                options.append(rs)
            elif ch.isspace() or ch in "'’-":
                options.append(("",))
            else:
                options.append((ch,))
        forms: list[str] = []
        for combo in itertools.islice(itertools.product(*options), MAX_PINYIN_FORMS):
            form = "".join(combo)
            if form not in forms:
                forms.append(form)
        return forms

