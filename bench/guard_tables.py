"""Regenerate (or check) the small Chinese text tables the guard and strategies ship.

Why: latentwall must not depend on pypinyin or OpenCC, so it ships the few hundred
characters it needs: a pinyin table (guards/data/pinyin.yaml), Traditional→Simplified
pairs missing from the judge's table (guards/data/t2s_extra.yaml) and homophone
candidates (strategies/data/homophones.yaml). This script rebuilds them from the keyword
lists and euphemism file with pypinyin and OpenCC, which are needed only here:

    pip install --target /tmp/lwdev pypinyin opencc-python-reimplemented
    PYTHONPATH=/tmp/lwdev python bench/guard_tables.py --check   # report what is missing
    PYTHONPATH=/tmp/lwdev python bench/guard_tables.py --write   # rewrite the tables

Without --write it prints a summary and exits 1 if a table lacks a character in use.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1] / "src" / "latentwall"
GUARD_DATA = ROOT / "guards" / "data"
STRAT_DATA = ROOT / "strategies" / "data"
HANT = ROOT / "judges" / "data" / "markers" / "_hant.yaml"
CJK = re.compile(r"[\u3400-\u9fff]")


def _cjk_in(obj: object) -> set[str]:
    if isinstance(obj, str):
        return set(CJK.findall(obj))
    if isinstance(obj, dict):
        return set().union(*(_cjk_in(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*(_cjk_in(v) for v in obj)) if obj else set()
    return set()


def _words(obj: object) -> set[str]:
    """Every CJK-bearing string of a data file (keywords, terms, codes)."""
    if isinstance(obj, str):
        return {obj} if CJK.search(obj) else set()
    if isinstance(obj, dict):
        return set().union(*(_words(v) for v in obj.values())) if obj else set()
    if isinstance(obj, list):
        return set().union(*(_words(v) for v in obj)) if obj else set()
    return set()


def _hant_pairs() -> dict[str, str]:
    data = yaml.safe_load(HANT.read_text(encoding="utf-8"))
    return {p[0]: p[1] for run in data["pairs"] for p in run.split()}


def _zh_terms() -> set[str]:
    data = yaml.safe_load((STRAT_DATA / "euphemisms.yaml").read_text(encoding="utf-8"))
    out: set[str] = set()
    for entry in data["entries"]:
        for slot in entry["slots"]:
            out.update(t for t in slot["terms"].get("zh-Hans", []) if CJK.search(t))
    return out


def _gb2312_level1() -> list[str]:
    chars = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the tables")
    ap.add_argument("--check", action="store_true", help="only report (the default)")
    args = ap.parse_args()
    try:
        from opencc import OpenCC
        from pypinyin import Style, lazy_pinyin, pinyin
    except ImportError:
        print("needs pypinyin and opencc-python-reimplemented (see the module docstring)", file=sys.stderr)
        return 2
    s2t = OpenCC("s2t")
    hant = _hant_pairs()

    sources = [*sorted((GUARD_DATA / "keywords").glob("*.yaml")), STRAT_DATA / "euphemisms.yaml"]
    words: set[str] = set()
    chars: set[str] = set()
    for f in sources:
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        words |= _words(data)
        chars |= _cjk_in(data)

    # Traditional -> Simplified pairs the judge's table lacks, for every character in use.
    extra: dict[str, str] = {}
    for c in sorted(chars):
        t = s2t.convert(c)
        if len(t) == 1 and t != c and hant.get(t) != c:
            extra[t] = c

    # Homophones for the characters of the Chinese topic terms.
    common = _gb2312_level1()
    by_tone: dict[str, list[str]] = {}
    for c in common:
        # A character's everyday reading; one with a single reading is a safer substitute.
        readings = pinyin(c, style=Style.TONE3, heteronym=True)[0]
        by_tone.setdefault(readings[0], []).append(c)
    for rs in by_tone.values():
        rs.sort(key=lambda h: len(pinyin(h, style=Style.TONE3, heteronym=True)[0]))
    homophones: dict[str, list[str]] = {}
    from pypinyin.constants import PHRASES_DICT

    # Terms pypinyin knows as phrases first: their readings in context are reliable.
    for term in sorted(_zh_terms(), key=lambda t: (t not in PHRASES_DICT, -len(t), t)):
        # The reading in context: 藏 in 西藏 is zang4, not cang2.
        tones = [t[0] for t in pinyin(term, style=Style.TONE3)]
        if len(tones) != len(term):
            tones = [pinyin(c, style=Style.TONE3)[0][0] for c in term]
        for c, tone in zip(term, tones, strict=True):
            if not CJK.match(c) or c in homophones:
                continue
            same = [h for h in by_tone.get(tone, []) if h != c and h not in hant]
            if len(same) < 3:
                plain = re.sub(r"\d", "", tone)
                same += [h for t, hs in sorted(by_tone.items()) if re.sub(r"\d", "", t) == plain and t != tone
                         for h in hs if h != c and h not in same][: 3 - len(same)]
            if same:
                homophones[c] = same[:3]
    for subs in homophones.values():
        chars.update(subs)

    # Pinyin for every character in use, its Traditional forms and the homophones.
    table_chars = set(chars) | set(extra) | {t for t, s in hant.items() if s in chars}
    readings: dict[str, list[str]] = {}
    for c in sorted(table_chars):
        rs = []
        for r in pinyin(c, style=Style.NORMAL, heteronym=True)[0]:
            r = r.replace("ü", "v")
            if r.isascii() and r.isalpha() and r not in rs:
                rs.append(r)
        if rs:
            readings[c] = rs
    word_readings: dict[str, str] = {}
    for w in sorted(words):
        if not all(c in readings for c in CJK.findall(w)):
            continue
        phrase = [s.replace("ü", "v") for s in lazy_pinyin(w, style=Style.NORMAL) if s]
        simple = [readings[c][0] if c in readings else c for c in w]
        if "".join(phrase) != "".join(simple) and len(CJK.findall(w)) == len(w):
            word_readings[w] = " ".join(phrase)

    print(f"characters in use: {len(chars)}; pinyin entries: {len(readings)}; word readings: {len(word_readings)}")
    print(f"t2s pairs missing from the judge's table: {len(extra)}; homophone entries: {len(homophones)}")
    if not args.write:
        current = yaml.safe_load((GUARD_DATA / "pinyin.yaml").read_text(encoding="utf-8")) if (
            GUARD_DATA / "pinyin.yaml").exists() else {"readings": {}}
        lacking = sorted(c for c in chars if c not in (current.get("readings") or {}))
        if lacking:
            print("pinyin.yaml lacks:", "".join(lacking))
            return 1
        return 0

    header_pinyin = (
        "# Pinyin readings (toneless, ü written v) of every Chinese character the keyword lists,\n"
        "# the euphemism file and the homophone table use, plus their Traditional forms.\n"
        "#\n"
        "# Why: the guard's `pinyin` normalisation and the `pinyin` strategy must work without\n"
        "# pypinyin (an optional library); this table covers the characters latentwall's own data\n"
        "# needs. With pypinyin installed the guard also reads characters missing here.\n"
        "# Generated by bench/guard_tables.py from pypinyin; edit the keyword lists, then re-run it.\n"
        "#\n"
        "# `readings`: character -> readings separated by spaces, most common first.\n"
        "# `words`: words whose reading in context differs from their characters' first readings.\n\n"
    )
    lines = [header_pinyin, "readings:\n"]
    lines += [f"  {c}: {' '.join(rs)}\n" for c, rs in sorted(readings.items())]
    lines.append("\nwords:\n")
    lines += [f"  {w}: {r}\n" for w, r in sorted(word_readings.items())]
    (GUARD_DATA / "pinyin.yaml").write_text("".join(lines), encoding="utf-8")

    header_t2s = (
        "# Traditional -> Simplified pairs for characters of the keyword lists and euphemism file\n"
        "# that the judge's table (judges/data/markers/_hant.yaml) does not have.\n"
        "#\n"
        "# Why: the guard's `t2s` normalisation maps text one character for one character, so a\n"
        "# keyword written once in Simplified also stops its Traditional spelling. Generated by\n"
        "# bench/guard_tables.py from OpenCC's s2t table. Same format as _hant.yaml.\n\n"
    )
    runs = [" ".join(f"{t}{s}" for t, s in sorted(extra.items())[i:i + 20]) for i in range(0, len(extra), 20)]
    (GUARD_DATA / "t2s_extra.yaml").write_text(
        header_t2s + "pairs:\n" + "".join(f'  - "{r}"\n' for r in runs), encoding="utf-8")

    header_h = (
        "# Homophones for the characters of the Chinese topic terms (euphemisms.yaml), for the\n"
        "# `homophone` strategy.\n"
        "#\n"
        "# Why: writing a blocked word with other characters of the same sound (陆肆 for 六四,\n"
        "# 法伦功 for 法轮功) is the oldest way round a Chinese keyword filter; readers hear the\n"
        "# word, the filter sees other characters. Candidates are common characters (GB2312\n"
        "# level 1) with one reading, the same tone first. Generated by bench/guard_tables.py\n"
        "# from pypinyin; tests check that each shares a reading with its character.\n"
        "#\n"
        "# `chars`: character -> substitutes separated by spaces.\n\n"
    )
    (STRAT_DATA / "homophones.yaml").write_text(
        header_h + "chars:\n" + "".join(f"  {c}: {' '.join(hs)}\n" for c, hs in sorted(homophones.items())),
        encoding="utf-8")
    print("written: guards/data/pinyin.yaml, guards/data/t2s_extra.yaml, strategies/data/homophones.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
