"""The offline judge's word lists: loading, validation and compilation.

Marker phrases live in data files (`data/markers/<lang>.yaml`), are validated on load
(errors name file, line and field) and compiled once into one prefix-factored regex per
script (a trie), so one pass over a response finds every marker of every language
written in that script. `kinds` maps each phrase's match key to what it is evidence of.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from latentwall.datafiles import load_yaml, package_data
from latentwall.errors import DataError
from latentwall.text import read_t2s, t2s_table

# What each kind of marker is evidence for; see the header of data/markers/en.yaml.
KINDS: tuple[str, ...] = (
    "refusal", "redirect", "policy", "apology", "ai_identity", "closing", "pivot",
    "partial", "deflection", "lecture", "official", "premise", "meta", "offer", "critique",
    "ignorance", "decline_part", "reporting", "neutral", "support", "referral", "general", "disclaimer",
    "counter", "so_called",
)
# Scripts: how phrases are bounded. Latin and Cyrillic phrases match whole words; CJK and
# the other scripts (Arabic, Hangul, Devanagari, Thai ...) match anywhere.
SCRIPTS = ("latin", "cyrillic", "cjk", "other")
_WORD_SCRIPTS = frozenset({"latin", "cyrillic"})
LEVELS = ("full", "basic")
_TOP_KEYS = {"language", "script", "level", "macros", "markers", "stopwords", "prompt_cues", "number_words",
             "focus", "code_languages", "detect", "sources"}
# Cues in the *prompt*: what kind of answer the request wants.
CUE_KINDS = ("official", "number", "code", "list", "write", "critique", "analyse", "satire", "explain",
             "opinion", "translate", "howto", "state", "identity", "exclusion")
_MAX_EXPANSIONS = 50_000
_MACRO_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# Same-length folds applied to text and phrases alike (positions stay put).
_FOLD = {ord("ё"): "е", ord("’"): "'", ord("‘"): "'"}


@dataclass(frozen=True, slots=True)
class MarkerSet:
    """One language's marker file, validated. `kinds`: match key -> (kind, phrase)."""

    language: str
    script: str
    level: str
    path: str
    written: tuple[str, ...]  # phrases as normalised (macros unexpanded), for the regex
    macros: dict[str, list[str]]
    kinds: dict[str, tuple[str, str]]
    stopwords: frozenset[str]
    n_phrases: int
    cues: dict[str, tuple[str, ...]]  # prompt cue kind -> phrases
    number_words: tuple[str, ...]
    # (field, prompt cues, answer words, idioms: prompt phrases where a cue does not name the field)
    focus: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = ()
    code_languages: tuple[str, ...] = ()
    detect: tuple[str, ...] = ()  # frequent function words that identify the language


class LanguageIndex:
    """One language's markers in one regex, compiled when first needed (most runs read one or
    two languages; compiling all of them would cost seconds at start-up).

    In a script with word boundaries the regex also takes the character before the phrase
    (`lead` = 1): it is read on the text with a space put in front, and a match's phrase starts
    one character after the match."""

    def __init__(self, ms: MarkerSet) -> None:
        self.language, self.script, self.kinds = ms.language, ms.script, ms.kinds
        self.lead = 1 if ms.script in _WORD_SCRIPTS else 0
        # The phrase as written -> (kind, phrase): most matches are found here without building a key.
        self.exact = {v[1]: (v[0], k) for k, v in ms.kinds.items()}  # phrase -> (kind, key)
        self._set = ms
        self._regex: re.Pattern[str] | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            self._regex = _compile(self._set)
        return self._regex


@dataclass(frozen=True, slots=True)
class MarkerBank:
    """Every marker set of a folder, compiled per script, plus the tables the signals use."""

    sets: tuple[MarkerSet, ...]
    t2s: dict[int, str]
    folder: str
    index: dict[str, LanguageIndex]  # language -> its markers
    fold: dict[int, str]  # t2s + same-length folds, for str.translate
    latin_stop: frozenset[str] = field(default_factory=frozenset)
    cjk_stop_by_len: tuple[str, ...] = ()  # longest first, so 为什么 goes before 什
    number_words: tuple[str, ...] = ()
    trad_rx: re.Pattern[str] = re.compile(r"(?!)")  # any character the fold table maps
    focus_words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    code_rx: re.Pattern[str] = re.compile(r"(?!)")
    cue_rx: dict[str, re.Pattern[str]] = field(default_factory=dict)  # prompt cue kind -> regex (all languages)
    # (field, prompt cue regex, regex of its idioms or None)
    focus_rx: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...] = ()
    detect_sets: dict[str, frozenset[str]] = field(default_factory=dict)  # language -> its function words
    languages: dict[str, str] = field(default_factory=dict)  # language -> level

    def level(self, language: str | None) -> str | None:
        """'full', 'basic', or None when no marker file covers the language."""
        if not language:
            return None
        return self.languages.get(language.split("-")[0].lower())


# --------------------------------------------------------------------------- errors


def _locate(path: Path, keys: Sequence[str | int]) -> int | None:
    """Line of the YAML node at `keys` (dict keys / list indices); used only to report errors."""
    try:
        node: Any = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for i, key in enumerate(keys):
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
            if pair is None:
                break
            line = pair[0].start_mark.line + 1
            node = pair[1]
            if i < len(keys) - 1:
                line = node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _fail(path: Path, keys: Sequence[str | int], fld: str, msg: str) -> DataError:
    return DataError(str(path), _locate(path, keys), fld, msg)


def _field_name(keys: Sequence[str | int]) -> str:
    out = ""
    for k in keys:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


# --------------------------------------------------------------------------- phrases


def norm_phrase(text: str, fold: dict[int, str]) -> str:
    """The canonical written form: lower case, folded, single spaces, commas tight."""
    text = text.lower().translate(fold)
    text = re.sub(r"\s*([,，])\s*", r"\1", text)
    return " ".join(text.split())


_KEY_STRIP = re.compile(r"[\s,，]+")


def match_key(text: str) -> str:
    """Match key: what the regex tolerates (case, spacing, commas, apostrophe form) removed."""
    return _KEY_STRIP.sub("", text.replace("’", "'").replace("‘", "'"))


def _expand(phrase: str, macros: dict[str, list[str]]) -> list[str]:
    """Every literal phrase a {macro} phrase stands for (to check duplicates and look up kinds)."""
    out: list[str] = []
    todo = [phrase]
    while todo:
        p = todo.pop()
        m = _MACRO_RE.search(p)
        if m is None:
            out.append(p)
            continue
        todo.extend(p[: m.start()] + alt + p[m.end():] for alt in macros[m.group(1)])
        if len(out) + len(todo) > _MAX_EXPANSIONS:
            raise ValueError(f"expands to more than {_MAX_EXPANSIONS} phrases")
    return out


def _atom(ch: str) -> str:
    """Regex for one written character: spacing, comma and apostrophe forms are tolerated."""
    if ch == " ":
        return r"\s+"
    if ch == "'":
        return "['’‘]"
    if ch in ",，":
        return r"[,，]?\s*"
    return re.escape(ch)


def _boundary(last: str, words: bool) -> str:
    # Not \b: "but I can" must not end inside "but I can't" (the apostrophe is a word char here).
    return r"(?![\w'’])" if words and (last.isalnum() or last == "_") else ""


def _tokens(phrase: str) -> list[str]:
    """Characters, with each {macro} slot kept as one token."""
    out: list[str] = []
    pos = 0
    for m in _MACRO_RE.finditer(phrase):
        out.extend(phrase[pos: m.start()])
        out.append(m.group())
        pos = m.end()
    out.extend(phrase[pos:])
    return out


def trie_regex(phrases: Iterable[str], macro_rx: dict[str, str] | None = None, words: bool = True) -> str:
    """Prefix-factored alternation over characters and {macro} slots: Python's re then tests
    each shared prefix once instead of once per phrase (a flat alternation of thousands of
    phrases is 50x slower)."""
    end = ""  # terminal marker key
    trie: dict[str, Any] = {}
    for p in phrases:
        node = trie
        for tok in _tokens(p):
            node = node.setdefault(tok, {})
        node[end] = True

    def atom(tok: str) -> str:
        if len(tok) > 1:  # a {macro} slot; its own trie carries the word boundaries
            return "(?:" + (macro_rx or {})[tok[1:-1]] + ")"
        return _atom(tok)

    depth: dict[int, int] = {}

    def deep(node: dict[str, Any]) -> int:
        """Tokens to the furthest phrase end below a node."""
        key = id(node)
        if key not in depth:
            depth[key] = max((1 + deep(c) for t, c in node.items() if t != end), default=0)
        return depth[key]

    def emit(node: dict[str, Any], last: str) -> str:
        # Longer phrases first: re takes the first branch that matches, so "{i_cant} {give} medical
        # advice" must be tried before "{i_cant} {do}" (literal characters exclude each other anyway).
        kids = sorted(((t, c) for t, c in node.items() if t != end), key=lambda tc: (-deep(tc[1]), tc[0]))
        branches = [atom(t) + emit(child, t) for t, child in kids]
        if end in node:  # a phrase ends here: longer continuations first (greedy)
            stop = _boundary(last, words) if len(last) == 1 else ""
            if not stop:
                inner = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
                return "(?:" + inner + ")?" if branches else ""
            branches.append(stop)
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(trie, "")


def _expand_leading(phrase: str, macros: dict[str, list[str]]) -> list[str]:
    """Expand a {macro} that starts a phrase, so every trie branch starts with a literal
    character: re can then skip positions by the first character (a 30x speed-up on CJK)."""
    out, todo = [], [phrase]
    while todo:
        p = todo.pop()
        m = _MACRO_RE.match(p)
        if m is None:
            out.append(p)
        else:
            todo.extend(alt + p[m.end():] for alt in macros[m.group(1)])
    return out


def _compile(ms: MarkerSet) -> re.Pattern[str]:
    """One regex for a marker set; each {macro} is its own sub-trie."""
    words = ms.script in _WORD_SCRIPTS
    macro_rx = {name: trie_regex(alts, None, words) for name, alts in ms.macros.items()}
    # Where no word boundary anchors the match, a leading slot is expanded so every branch
    # starts with a literal character: re then skips positions by it (30x on CJK).
    written = sorted({e for p in ms.written for e in ((p,) if words else _expand_leading(p, ms.macros))})
    body = trie_regex(written, macro_rx, words)
    # Phrases in a word script start with a letter or digit, so a word boundary before one is a
    # non-word character before it. Taking that character (\W, not \b) lets re skip to the
    # candidates by a character class instead of trying the trie at every position (the English
    # scan about 10% faster; docs/judge.md).
    return re.compile(r"\W(?:" + body + ")" if words else body)


def _as_str_list(path: Path, keys: tuple[str | int, ...], value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if not isinstance(value, list):
        raise _fail(path, keys, _field_name(keys), "must be a list of strings")
    for i, v in enumerate(value):
        if not isinstance(v, str) or not v.strip():
            raise _fail(path, (*keys, i), _field_name((*keys, i)), "must be a non-empty string")
    return list(value)


def _read_macros(path: Path, data: dict[str, Any], fold: dict[int, str]) -> dict[str, list[str]]:
    raw = data.get("macros") or {}
    if not isinstance(raw, dict):
        raise _fail(path, ("macros",), "macros", "must be a mapping of name -> list of strings")
    macros: dict[str, list[str]] = {}
    for name, alts in raw.items():
        if name == "__line__":
            continue
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", str(name)):
            raise _fail(path, ("macros", name), f"macros.{name}", "macro names are lower_snake_case")
        if name in KINDS:  # phrases meant for markers.official once landed in a macro `official`
            raise _fail(path, ("macros", name), f"macros.{name}",
                        f"'{name}' is a marker kind; name the macro otherwise, so phrases are not added to it by mistake")
        macros[name] = [norm_phrase(a, fold) for a in _as_str_list(path, ("macros", name), alts)]
        if any(c in a for a in macros[name] for c in "{}"):
            raise _fail(path, ("macros", name), f"macros.{name}", "macro alternatives cannot use macros")
    return macros


def _read_markers(path: Path, data: dict[str, Any], script: str, macros: dict[str, list[str]],
                  fold: dict[int, str]) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """Phrases as written (for the regex) and every expansion's key -> (kind, phrase)."""
    markers = data.get("markers")
    if not isinstance(markers, dict) or not set(markers) - {"__line__"}:
        raise _fail(path, ("markers",), "markers", "must be a mapping of kind -> list of phrases")
    written: list[str] = []
    kinds: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    for kind, phrases in markers.items():
        if kind == "__line__":
            continue
        if kind not in KINDS:
            raise _fail(path, ("markers", kind), f"markers.{kind}",
                        f"unknown marker kind (allowed: {', '.join(KINDS)})")
        for i, phrase in enumerate(_as_str_list(path, ("markers", kind), phrases)):
            keys = ("markers", kind, i)
            where = _field_name(keys)
            for name in _MACRO_RE.findall(phrase):
                if name not in macros:
                    raise _fail(path, keys, where, f"unknown macro '{{{name}}}'")
                used.add(name)
            if re.search(r"[{}]", _MACRO_RE.sub("", phrase)):
                raise _fail(path, keys, where, "stray brace (macros are written {name})")
            norm = norm_phrase(phrase, fold)
            try:
                expanded = _expand(norm, macros)
            except ValueError as exc:
                raise _fail(path, keys, where, str(exc)) from None
            written.append(norm)
            for p in expanded:
                if script in _WORD_SCRIPTS and not p[:1].isalnum():
                    raise _fail(path, keys, where, f"'{p}': a {script}-script phrase must start with a letter or digit")
                k = match_key(p)
                if not k:
                    raise _fail(path, keys, where, "empty phrase")
                prev = kinds.get(k)
                if prev is not None and prev[0] != kind:
                    raise _fail(path, keys, where, f"'{p}' is already a '{prev[0]}' marker ('{prev[1]}')")
                kinds.setdefault(k, (kind, p))
    for name in macros:
        if name not in used:  # phrases put in a macro by mistake match nothing
            raise _fail(path, ("macros", name), f"macros.{name}", "no marker phrase uses this macro")
    return written, kinds


def _read_cues(path: Path, data: dict[str, Any], fold: dict[int, str]) -> dict[str, tuple[str, ...]]:
    raw = data.get("prompt_cues") or {}
    if not isinstance(raw, dict):
        raise _fail(path, ("prompt_cues",), "prompt_cues", "must be a mapping of cue kind -> list of phrases")
    cues: dict[str, tuple[str, ...]] = {}
    for kind, phrases in raw.items():
        if kind == "__line__":
            continue
        if kind not in CUE_KINDS:
            raise _fail(path, ("prompt_cues", kind), f"prompt_cues.{kind}",
                        f"unknown cue kind (allowed: {', '.join(CUE_KINDS)})")
        cues[kind] = tuple(sorted({norm_phrase(p, fold)
                                   for p in _as_str_list(path, ("prompt_cues", kind), phrases)}))
    return cues


def _read_focus(path: Path, data: dict[str, Any],
                fold: dict[int, str]) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]:
    """`focus: {field: {prompt: [...], answer: [...], not: [...]}}`: a question that names the
    field (prompt cue) is answered only by a reply that uses one of its answer words
    (substrings); a cue inside one of the `not` idioms ("killing time") does not name it."""
    raw = data.get("focus") or {}
    if not isinstance(raw, dict):
        raise _fail(path, ("focus",), "focus", "must be a mapping of field -> {prompt, answer}")
    out = []
    for name, spec in raw.items():
        if name == "__line__":
            continue
        if not isinstance(spec, dict) or set(spec) - {"prompt", "answer", "not", "__line__"} or not (
                spec.get("prompt") and spec.get("answer")):
            raise _fail(path, ("focus", name), f"focus.{name}",
                        "must be a mapping with lists 'prompt' and 'answer' (and optionally 'not')")
        cues = tuple(sorted({norm_phrase(p, fold) for p in _as_str_list(path, ("focus", name, "prompt"), spec["prompt"])}))
        words = tuple(norm_phrase(w, fold) for w in _as_str_list(path, ("focus", name, "answer"), spec["answer"]))
        idioms = tuple(norm_phrase(w, fold) for w in _as_str_list(path, ("focus", name, "not"), spec.get("not") or []))
        out.append((str(name), cues, words, idioms))
    return tuple(out)


def load_marker_file(path: Path, t2s: dict[int, str] | None = None) -> MarkerSet:
    """Load and validate one marker file; errors name file, line and field."""
    path = Path(path)
    fold = {**_FOLD, **(t2s or {})}
    data = load_yaml(path, lines=True)
    if not isinstance(data, dict):
        raise DataError(str(path), 1, None, "a marker file must be a mapping")
    for k in data:
        if k != "__line__" and k not in _TOP_KEYS:
            raise _fail(path, (k,), str(k), f"unknown field (allowed: {', '.join(sorted(_TOP_KEYS))})")
    language = data.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}", language):
        raise _fail(path, ("language",), "language", "must be a primary language code such as 'en'")
    script = data.get("script")
    if script not in SCRIPTS:
        raise _fail(path, ("script",), "script", f"must be one of {', '.join(SCRIPTS)}")
    level = data.get("level", "full")
    if level not in LEVELS:
        raise _fail(path, ("level",), "level", f"must be one of {', '.join(LEVELS)}")
    if "sources" in data:
        _as_str_list(path, ("sources",), data["sources"])
    macros = _read_macros(path, data, fold)
    written, kinds = _read_markers(path, data, script, macros, fold)
    stop = frozenset(norm_phrase(w, fold) for w in _as_str_list(path, ("stopwords",), data.get("stopwords") or []))
    numbers = tuple(norm_phrase(w, fold)
                    for w in _as_str_list(path, ("number_words",), data.get("number_words") or []))
    code = tuple(w.lower() for w in _as_str_list(path, ("code_languages",), data.get("code_languages") or []))
    detect = tuple(norm_phrase(w, fold) for w in _as_str_list(path, ("detect",), data.get("detect") or []))
    if script in _WORD_SCRIPTS and not detect:
        raise _fail(path, ("detect",), "detect",
                    "a word-script language needs 'detect': its most frequent function words")
    return MarkerSet(language, script, level, str(path), tuple(written), macros, kinds, stop, len(kinds),
                     _read_cues(path, data, fold), numbers, _read_focus(path, data, fold), code, detect)


@lru_cache(maxsize=8)
def load_bank(folder: str | None = None) -> MarkerBank:
    """Every `*.yaml` marker set of a folder (files starting with '_' are helper tables)."""
    root = Path(folder) if folder else package_data("latentwall.judges", "data", "markers")
    if not root.is_dir():
        raise DataError(str(root), None, None, "marker folder not found")
    # The one Traditional->Simplified table (latentwall.text), the core part the weights were
    # fitted with; a folder of the user's own markers may bring its own as `_hant.yaml`.
    hant = root / "_hant.yaml"
    t2s = read_t2s(hant) if hant.exists() else dict(t2s_table(core=True))
    fold = {**_FOLD, **t2s}
    sets = tuple(load_marker_file(p, t2s) for p in sorted(root.glob("*.yaml")) if not p.name.startswith("_"))
    if not sets:
        raise DataError(str(root), None, None, "no marker files (*.yaml)")
    seen: dict[str, str] = {}
    for s in sets:
        if s.language in seen:
            raise DataError(s.path, None, "language", f"'{s.language}' is also the language of {seen[s.language]}")
        seen[s.language] = Path(s.path).name
    index = {s.language: LanguageIndex(s) for s in sets}
    latin = frozenset().union(*(s.stopwords for s in sets if s.script in _WORD_SCRIPTS))
    cjk = frozenset().union(*(s.stopwords for s in sets if s.script == "cjk"))
    # Longest first and no word that contains another ("hundred" covers "hundreds").
    words = sorted({w for s in sets for w in s.number_words}, key=len, reverse=True)
    words = [w for i, w in enumerate(words) if not any(o in w for o in words[:i])]
    trad_rx = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(t2s)) + "]") if t2s else re.compile(r"(?!)")
    focus_words: dict[str, tuple[str, ...]] = {}
    focus_cues: dict[str, set[str]] = {}
    focus_not: dict[str, set[str]] = {}
    for s in sets:
        for name, cues, fwords, idioms in s.focus:
            focus_words[name] = tuple(dict.fromkeys(focus_words.get(name, ()) + fwords))
            focus_cues.setdefault(name, set()).update(cues)
            focus_not.setdefault(name, set()).update(idioms)
    langs = sorted({c for s in sets for c in s.code_languages}, key=len, reverse=True)
    code_rx = (re.compile(r"(?<![a-z0-9_+#])(" + "|".join(re.escape(c) for c in langs) + r")(?![a-z0-9_+#])") if langs
               else re.compile(r"(?!)"))
    cue_rx = {kind: _cue_regex([(s.script, p) for s in sets for p in s.cues.get(kind, ())]) for kind in CUE_KINDS}

    def by_script(phrases: set[str]) -> re.Pattern[str]:
        return _cue_regex([("latin" if c.isascii() else "cjk", c) for c in sorted(phrases)])

    focus_rx = tuple((name, by_script(cues), by_script(focus_not[name]) if focus_not[name] else None)
                     for name, cues in focus_cues.items())
    detect_sets = {s.language: frozenset(s.detect) for s in sets if s.detect}
    return MarkerBank(sets, t2s, str(root), index, fold, latin, tuple(sorted(cjk, key=lambda w: (-len(w), w))),
                      tuple(words), trad_rx, focus_words, code_rx, cue_rx, focus_rx, detect_sets,
                      {s.language: s.level for s in sets})


def _cue_regex(phrases: list[tuple[str, str]]) -> re.Pattern[str]:
    """Prompt cues of every language: whole words in word scripts, substrings elsewhere."""
    worded = sorted({p for script, p in phrases if script in _WORD_SCRIPTS})
    loose = sorted({p for script, p in phrases if script not in _WORD_SCRIPTS})
    parts = []
    if worded:
        parts.append(r"\b(?:" + trie_regex(worded) + ")")
    if loose:
        parts.append(trie_regex(loose, words=False))
    return re.compile("|".join(parts)) if parts else re.compile(r"(?!)")
