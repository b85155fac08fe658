"""Language tables: CJK ranges, Traditional→Simplified, pinyin, look-alike letters, leet,
invisible characters. One home, data in `text/data/`.

Why one home: the judge, the guard's normalisation, the strategies that attack it
(homophones, pinyin, homoglyphs, zero-width characters) and the narrative-stance scorer
must agree on one table each, or a test of "does the guard undo the attack" would test two
tables against each other, and a phrase the judge folds would not fold for the stance
scorer. Optional libraries (pypinyin) only extend a table for characters it lacks;
latentwall's own data is fully covered without them.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

import latentwall.datafiles as datafiles
from latentwall.errors import DataError

# Han ideographs (extension A, the unified block, compatibility ideographs): what "CJK" means
# everywhere in latentwall. KANA is Japanese hiragana and katakana, for tokenisers that
# count one token per character.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA = "\u3040-\u30ff"
CJK_RE = re.compile(f"[{CJK}]")
_PINYIN_RE = re.compile(r"^[a-z]+$")


def table_path(name: str) -> Path:
    """Path of a table under latentwall/text/data."""
    return datafiles.package_data("latentwall.text", "data", name)


def is_cjk(ch: str) -> bool:
    return bool(CJK_RE.match(ch))


def line_of(path: Path, key: str) -> int | None:
    """Line of `key:` in a YAML file, for errors inside a flat mapping of many keys."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    pat = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*:")
    for i, line in enumerate(lines, start=1):
        if pat.match(line):
            return i
    return None


def mapping_of(path: Path, data: Any, field: str) -> dict[str, Any]:
    """`data[field]` as a mapping, or a DataError naming the file and field."""
    if not isinstance(data, dict):
        raise DataError(str(path), 1, None, "must be a mapping")
    value = data.get(field)
    if not isinstance(value, dict):
        raise DataError(str(path), data.get("__line__"), field, "must be a mapping")
    return {k: v for k, v in value.items() if k != "__line__"}


# ---------------------------------------------------------------- Traditional -> Simplified


def _item_line(path: Path, key: str, index: int) -> int | None:
    """Line of item `index` of the list under `key` (for errors in a list of plain strings)."""
    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if getattr(k, "value", None) == key and isinstance(v, yaml.SequenceNode) and index < len(v.value):
            return int(v.value[index].start_mark.line) + 1
    return None


def read_t2s(path: Path, sections: tuple[str, ...] = ("pairs",)) -> dict[int, str]:
    """A Traditional->Simplified table file (`pairs: ["繁简 ..."]`, and optionally `more:`)
    as a str.translate table, from the named sections.

    Each run holds pairs of two different characters; a character mapped two ways (in any
    section) is an error naming the run (`pairs[i]`) and its line."""
    data = datafiles.load_yaml(path, lines=True)
    if not isinstance(data, dict) or not isinstance(data.get("pairs"), list):
        raise DataError(str(path), 1, "pairs", "must be a mapping with a list 'pairs'")
    table: dict[int, str] = {}
    runs = [(key, i, run) for key in sections for i, run in enumerate(data.get(key) or [])]
    if "more" in sections and not isinstance(data.get("more", []), list):
        raise DataError(str(path), 1, "more", "must be a list of '繁简' pairs")
    for key, i, run in runs:
        where = f"{key}[{i}]"
        if not isinstance(run, str):
            raise DataError(str(path), _item_line(path, key, i), where, "must be a string of '繁简' pairs")
        for tok in run.split():
            if len(tok) != 2 or tok[0] == tok[1]:
                raise DataError(str(path), _item_line(path, key, i), where,
                                f"'{tok}' is not a pair of two different characters")
            old = table.get(ord(tok[0]))
            if old is not None and old != tok[1]:
                raise DataError(str(path), _item_line(path, key, i), where,
                                f"'{tok[0]}' mapped twice ('{old}' and '{tok[1]}')")
            table[ord(tok[0])] = tok[1]
    return table


@lru_cache(maxsize=2)
def t2s_table(core: bool = False) -> dict[int, str]:
    """Traditional→Simplified, one character for one (text/data/t2s.yaml). `core`: only the
    pairs the offline judge was fitted with (see the file's header)."""
    return read_t2s(table_path("t2s.yaml"), ("pairs",) if core else ("pairs", "more"))


def to_simplified(text: str) -> str:
    """Map Traditional characters to Simplified; positions stay put (one character each)."""
    return text.translate(t2s_table())


# ---------------------------------------------------------------------------- pinyin


@dataclass(frozen=True)
class PinyinTable:
    readings: dict[str, tuple[str, ...]]
    words: dict[str, tuple[str, ...]]


def _syllables(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.split():
        raise DataError(str(path), line_of(path, key), key, "must be readings separated by spaces")
    out = tuple(value.split())
    for s in out:
        if not _PINYIN_RE.match(s):
            raise DataError(str(path), line_of(path, key), key,
                            f"'{s}' is not a toneless pinyin syllable (a-z, ü written v)")
    return out


@lru_cache(maxsize=1)
def pinyin_table() -> PinyinTable:
    """The shipped pinyin table (text/data/pinyin.yaml), validated."""
    path = table_path("pinyin.yaml")
    data = datafiles.load_yaml(path, lines=True)
    readings = {}
    for ch, value in mapping_of(path, data, "readings").items():
        if len(ch) != 1 or not is_cjk(ch):
            raise DataError(str(path), line_of(path, ch), ch, "keys must be single Chinese characters")
        readings[ch] = _syllables(path, ch, value)
    words = {}
    for word, value in mapping_of(path, data, "words").items():
        syl = _syllables(path, word, value)
        if len(syl) != len(word):
            raise DataError(str(path), line_of(path, word), word, "needs one syllable per character")
        words[word] = syl
    return PinyinTable(readings, words)


@lru_cache(maxsize=1)
def _pypinyin() -> ModuleType | None:
    """pypinyin if installed: it only extends the table to characters latentwall's data lacks."""
    try:
        return importlib.import_module("pypinyin")
    except ImportError:
        return None


def pinyin_backend() -> str:
    return "table+pypinyin" if _pypinyin() is not None else "table"


@lru_cache(maxsize=65536)
def char_readings(ch: str) -> tuple[str, ...]:
    """Toneless readings of one character, most common first; () when unknown."""
    found = pinyin_table().readings.get(ch)
    if found:
        return found
    mod = _pypinyin()
    if mod is None or not is_cjk(ch):
        return ()
    out: list[str] = []
    for r in mod.pinyin(ch, style=mod.Style.NORMAL, heteronym=True)[0]:
        r = r.replace("ü", "v")
        if _PINYIN_RE.match(r) and r not in out:
            out.append(r)
    return tuple(out)


def word_syllables(word: str) -> list[str] | None:
    """The reading of a Chinese word in context, from the shipped table only (deterministic
    whatever is installed); None if a character has no reading there."""
    table = pinyin_table()
    simple = to_simplified(word)
    if simple in table.words:
        return list(table.words[simple])
    out = []
    for ch in simple:
        rs = table.readings.get(ch)
        if not rs:
            return None
        out.append(rs[0])
    return out


# ---------------------------------------------------------------- invisible characters


def is_invisible(ch: str) -> bool:
    """Format characters (zero-width space, joiners, BOM, bidi marks, soft hyphen) and
    variation selectors: they change a string without changing what a reader sees."""
    o = ord(ch)
    return (
        unicodedata.category(ch) == "Cf" or 0xFE00 <= o <= 0xFE0F or o == 0x034F
        or 0xE0100 <= o <= 0xE01EF or o in (0x115F, 0x1160, 0x3164, 0xFFA0)
    )


# Blocks where format characters and variation selectors live (Unicode 15); scanning only these
# at first use keeps start-up fast and the per-text work a single regex substitution.
_INVISIBLE_BLOCKS = (
    (0x0000, 0x3000), (0x3100, 0x3200), (0xFE00, 0x10000), (0x110BD, 0x110CE), (0x13430, 0x13456),
    (0x1BCA0, 0x1BCA4), (0x1D173, 0x1D17B), (0xE0000, 0xE0080), (0xE0100, 0xE01F0),
)


@lru_cache(maxsize=1)
def _invisible_re() -> re.Pattern[str]:
    chars = [chr(o) for lo, hi in _INVISIBLE_BLOCKS for o in range(lo, hi) if is_invisible(chr(o))]
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


def strip_invisible(text: str) -> str:
    return _invisible_re().sub("", text)


# ---------------------------------------------------------------- look-alikes and leet


def _letter_map(path: Path, field: str) -> dict[int, str]:
    data = datafiles.load_yaml(path, lines=True)
    out: dict[int, str] = {}
    for letter, chars in mapping_of(path, data, field).items():
        if not isinstance(letter, str) or len(letter) != 1:
            raise DataError(str(path), line_of(path, str(letter)), str(letter), "keys must be single letters")
        if not isinstance(chars, str) or not chars:
            raise DataError(str(path), line_of(path, letter), letter, "must be a string of characters")
        for ch in chars:
            if ch.isspace():
                continue
            if ord(ch) in out and out[ord(ch)] != letter:
                raise DataError(str(path), line_of(path, letter), letter,
                                f"'{ch}' (U+{ord(ch):04X}) is already read as '{out[ord(ch)]}'")
            out[ord(ch)] = letter
    return out


@lru_cache(maxsize=1)
def confusable_fold() -> dict[int, str]:
    """Cyrillic/Greek look-alikes -> Latin letters (text/data/confusables.yaml)."""
    return _letter_map(table_path("confusables.yaml"), "fold")


@lru_cache(maxsize=1)
def leet_read() -> dict[int, str]:
    """Digits and symbols -> the letters they stand for in leetspeak (text/data/leet.yaml)."""
    return _letter_map(table_path("leet.yaml"), "read")
