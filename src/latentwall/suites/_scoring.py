"""Scoring capability probes: find the final answer in a free-text reply and check it.

Capability items have one exact answer, so a rule-based scorer is cheaper, reproducible
and auditable where a judge model would add noise. The rules are strict on purpose: a
reply that hedges between candidates earns nothing, so a capability tax is never hidden
by generous extraction. The rules, in order:

1. Clean-up: NFKC (full-width digits), markdown emphasis and code fences removed,
   ``\\boxed{X}`` and ``#### X`` read as "answer: X".
2. The final statement: if the reply has an explicit marker ("the answer is", "answer:",
   "result is", "output:", "prints", 答案是, 结果为, 输出, 打印 ...), the LAST marker wins and
   its sentence is the final statement (plus any following sentence that begins with a
   hedge such as "or maybe"). Otherwise, for numeric answers, the last sentence that
   contains a number; for text answers, the last non-empty line.
3. Numeric answers (``-3``, ``1,000``, ``0.21``): after a marker the FIRST number is the
   answer ("the answer is 12, since 3 × 4 = 12"); without one, the LAST number. Numbers
   right after "not"/不是 are skipped ("12, not 14"). Numbers compare by value (1000 ==
   1,000 == 1000.0) and whole numbers only: "14" never counts as "4". A clock time is
   one token (8:15 is not 8; 8:00 is 8); in 1945年9月2日 only the year counts. Chinese
   numerals (十二, 一百零三, 一九六九) and English number words (twelve, forty-two) are
   read only when there are no digits.
4. Several candidates: if the final statement holds two or more different numbers and a
   hedge ("or", "maybe", "perhaps", 或, 还是, 可能 ...), or is a bare list of numbers
   ("12, 14", "(3, 2)"), the reply is not credited to any of them.
5. Text answers: case-, accent-, whitespace- and punctuation-insensitive whole-word match
   (substring match for Chinese) of any " || " alternative inside the final statement;
   not credited when the match follows "not"/"rather than"/不是 or sits next to "or"/或
   ("Paris or Lyon"). Answers with brackets, quotes or joining punctuation (code output
   such as ``[1, 2, 3]``, ``a-b-c``, ``8:15``) keep their punctuation (spaces inside
   brackets ignored) and must not continue into more of the same ("[1, 2, 3, 4]").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from latentwall.text import CJK, KANA

ALT_SEP = "||"

_CJK = KANA + CJK
_CJK_RE = re.compile(f"[{_CJK}]")

_MARKER_RE = re.compile(
    r"(?:\b(?:final\s+answer|answer|result|output)"
    r"(?:\s*(?:is|would\s+be|will\s+be|should\s+be|was)\s*[:：=]?|\s*[:：=]))"
    r"|\bprints?\b\s*[:：]?"
    r"|(?:最终答案|答案|结果|输出)\s*(?:(?:是|为|应为|应该是|应是)\s*[:：=]?|[:：=])"
    r"|(?:会)?打印(?:出)?\s*[:：]?"
    r"|答\s*[:：]",
    re.IGNORECASE,
)
_SENT_END_RE = re.compile(r"[。！？!?\n]+|\.(?=\s|$)")
_HEDGE_RE = re.compile(
    r"\b(?:or|either|maybe|perhaps|possibly|alternatively)\b|或者?|还是|可能|也许|大概",
    re.IGNORECASE,
)
_HEDGE_START_RE = re.compile(
    r"^\s*(?:(?:or|maybe|perhaps|possibly|alternatively)\b|或者?|还是|也可能|也许|可能)",
    re.IGNORECASE,
)
_NEGATION_RE = re.compile(
    r"(?:\b(?:not|isnt|isn't|wasnt|wasn't|never|instead\s+of|rather\s+than)|不是|并非|而非|并不是)\s*$",
    re.IGNORECASE,
)
_NUM_RE = re.compile(
    r"(?<![0-9A-Za-z_.])(?P<sign>[-−])?"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?(?![0-9])"
)
_TIME_RE = re.compile(r"(?<![0-9:])(\d{1,2}):(\d{2})(?![0-9]|:\d)")
_CN_YEAR_RE = re.compile(r"\d{3,4}\s*年")
_CN_MONTH_DAY_RE = re.compile(r"\s*[月日号]")
_NUM_ANSWER_RE = re.compile(r"^[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_WORD_NEG_RE = re.compile(r"(?:\b(?:minus|negative)\s+|负\s*)$", re.IGNORECASE)
_LIST_REST_RE = re.compile(r"^(?:[\s,;/|、，；()\[\]{}]|\band\b|和|及)*$", re.IGNORECASE)

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_NUM_RE = re.compile("[零〇一二两三四五六七八九十百千万]+")
_CN_NOT_NUMBER_AFTER_ONE = set("个种下些样起直定般点共切致旦同")
_EN_ONES = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_EN_TENS = {w: 10 * i for i, w in enumerate(
    "twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_EN_NUM_RE = re.compile(
    r"\b(?:(?P<tens>" + "|".join(_EN_TENS) + r")(?:[-\s](?P<unit>" + "|".join(
        w for w in _EN_ONES if _EN_ONES[w] < 10 and w != "zero") + r"))?|(?P<ones>"
    + "|".join(sorted(_EN_ONES, key=len, reverse=True)) + r"))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Num:
    value: Decimal
    start: int
    end: int


# ---------------------------------------------------------------- clean-up and folding

def _clean(text: str) -> str:
    """Normalise the reply so markers, digits and sentences are found in one form."""
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"\\boxed\{([^{}]*)\}", r"\nanswer: \1\n", s)
    s = re.sub(r"^\s*####\s*", "answer: ", s, flags=re.MULTILINE)
    s = s.replace("```", "\n").replace("**", "").replace("`", "").replace("$", "")
    return s


def _fold(s: str) -> str:
    """Case-fold, unify quotes and drop accents (Brasília = Brasilia); CJK is untouched."""
    s = unicodedata.normalize("NFKC", s).casefold()
    s = s.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"}))
    s = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", s)


def _loose(s: str) -> str:
    """Words only: punctuation becomes space; spaces between Chinese characters vanish."""
    s = _fold(s).replace("'", "")
    s = re.sub(r"[\W_]+", " ", s)
    s = re.sub(f"(?<=[{_CJK}]) +(?=[{_CJK}])", "", s)
    return " ".join(s.split())


def _strict(s: str) -> str:
    """Punctuation kept (code output), spaces collapsed and dropped inside brackets."""
    s = _fold(s).replace('"', "'")
    s = " ".join(s.split())
    s = re.sub(r"([\[({,:;])\s+", r"\1", s)
    return re.sub(r"\s+([\])},:;])", r"\1", s)


def _is_strict(alt: str) -> bool:
    """Answers whose punctuation carries meaning (code output, times) are matched as written."""
    core = re.sub(r"(?<=\w)'(?=\w)", "", alt)  # O'Brien, isn't: still plain words
    return bool(re.search(r"[^\w\s.,!?。，！？·]", core))


def is_numeric_answer(alt: str) -> bool:
    """True for answers compared by value: 42, -3, 1,000, 0.21."""
    return bool(_NUM_ANSWER_RE.match(alt.strip()))


def _to_decimal(s: str) -> Decimal | None:
    try:
        return Decimal(s.replace(",", "").replace("−", "-"))
    except InvalidOperation:
        return None


def _fmt(d: Decimal) -> str:
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


# ---------------------------------------------------------------- statements

def _sentences(s: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each non-empty sentence; a dot inside a number does not split."""
    out: list[tuple[int, int]] = []
    pos = 0
    for m in [*_SENT_END_RE.finditer(s), None]:
        end = m.start() if m else len(s)
        chunk = s[pos:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            out.append((offset + pos + lead, offset + pos + len(chunk.rstrip())))
        if m is None:
            break
        pos = m.end()
    return out


def _marker_statement(s: str) -> str | None:
    """The sentence after the last answer marker, with any trailing hedge sentences."""
    marks = list(_MARKER_RE.finditer(s))
    if not marks:
        return None
    sents = _sentences(s[marks[-1].end():], marks[-1].end())
    if not sents:
        return None
    parts = [s[sents[0][0]:sents[0][1]]]
    for a, b in sents[1:]:
        if not _HEDGE_START_RE.match(s[a:b]):
            break
        parts.append(s[a:b])
    return " ".join(parts)


def _last_line(s: str) -> str:
    lines = [ln.strip() for ln in s.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------- numbers

def _cn_value(run: str) -> int | None:
    if not any(c in _CN_UNITS or c == "万" for c in run):
        if all(c in _CN_DIGITS for c in run):  # digit-by-digit: 一九六九
            return int("".join(str(_CN_DIGITS[c]) for c in run))
        return None
    total = section = num = 0
    for c in run:
        if c in _CN_DIGITS:
            num = _CN_DIGITS[c]
        elif c in _CN_UNITS:
            section += (num or 1) * _CN_UNITS[c]
            num = 0
        elif c == "万":
            total += (section + num) * 10000
            section = num = 0
    return total + section + num


def _numbers(s: str, cjk: bool, words: bool) -> list[_Num]:
    """Numbers in reading order, skipping negated ones; number words only when `words`."""
    found: list[_Num] = []
    times = [(m.start(), m.end()) for m in _TIME_RE.finditer(s)]
    for m in _TIME_RE.finditer(s):  # 8:00 is the hour 8; 8:15 is a time, not two numbers
        if m.group(2) == "00":
            found.append(_Num(Decimal(m.group(1)), m.start(), m.end()))
    cn_date = _CN_YEAR_RE.search(s) is not None
    for m in _NUM_RE.finditer(s):
        if any(a <= m.start() < b for a, b in times):
            continue
        if cn_date and _CN_MONTH_DAY_RE.match(s, m.end()):
            continue  # 1945年9月2日: the year is the number, not the day
        val = _to_decimal(m.group("int") + (m.group("frac") or ""))
        if val is None:
            continue
        if m.group("sign") or _WORD_NEG_RE.search(s[max(0, m.start() - 12): m.start()]):
            val = -val
        found.append(_Num(val, m.start(), m.end()))
    found.sort(key=lambda n: n.start)
    if not found and words:
        for m in _EN_NUM_RE.finditer(s):
            if m.group("ones"):
                n = _EN_ONES[m.group("ones").lower()]
            else:
                n = _EN_TENS[m.group("tens").lower()] + (
                    _EN_ONES[m.group("unit").lower()] if m.group("unit") else 0)
            neg = bool(_WORD_NEG_RE.search(s[max(0, m.start() - 12): m.start()]))
            found.append(_Num(Decimal(-n if neg else n), m.start(), m.end()))
    if not found and words and cjk:
        for m in _CN_NUM_RE.finditer(s):
            run = m.group()
            if run == "一" and s[m.end(): m.end() + 1] in _CN_NOT_NUMBER_AFTER_ONE:
                continue  # 一个, 一下, 一些: an article, not the number one
            v = _cn_value(run)
            if v is not None:
                neg = s[max(0, m.start() - 1): m.start()] == "负"
                found.append(_Num(Decimal(-v if neg else v), m.start(), m.end()))
    return [n for n in found if not _NEGATION_RE.search(_fold(s[max(0, n.start - 16): n.start]))]


def _has_digits(s: str) -> bool:
    return re.search(r"\d", s) is not None


def _extract_number(s: str, cjk: bool) -> tuple[Decimal | None, str]:
    """(value, shown) of the final numeric answer; value None when absent or hedged."""
    stmt = _marker_statement(s)
    from_marker = stmt is not None and bool(_numbers(stmt, cjk, words=not _has_digits(stmt)))
    if not from_marker:
        words = not _has_digits(s)  # number words only in a reply without any digits
        sents = _sentences(s)
        idx = next((i for i in range(len(sents) - 1, -1, -1)
                    if _numbers(s[sents[i][0]:sents[i][1]], cjk, words)), None)
        if idx is None:
            return None, ""
        stmt = s[sents[idx][0]:sents[idx][1]]
        if idx > 0 and _HEDGE_START_RE.match(stmt):
            a, b = sents[idx - 1]
            stmt = s[a:b] + " " + stmt
    assert stmt is not None
    nums = _numbers(stmt, cjk, words=not _has_digits(stmt))
    if not nums:
        return None, ""
    distinct = list(dict.fromkeys(n.value for n in nums))
    if len(distinct) > 1:
        rest = stmt
        for n in reversed(nums):
            rest = rest[: n.start] + " " + rest[n.end:]
        if _HEDGE_RE.search(stmt) or _LIST_REST_RE.match(rest):
            return None, " | ".join(_fmt(v) for v in distinct)
    pick = nums[0] if from_marker else nums[-1]
    return pick.value, _fmt(pick.value)


# ---------------------------------------------------------------- text

def _match_text(stmt: str, alt: str) -> str:
    """'match', 'hedged' or 'none' for one text alternative inside the final statement."""
    strict = _is_strict(alt)
    hay, needle = (_strict(stmt), _strict(alt)) if strict else (_loose(stmt), _loose(alt))
    if not needle:
        return "none"
    inner = set(needle) - set(" .,!?")
    result = "none"
    for m in re.finditer(re.escape(needle), hay):
        before = hay[m.start() - 1] if m.start() > 0 else " "
        after = hay[m.end()] if m.end() < len(hay) else " "
        if _CJK_RE.match(needle[0]) is None and (before.isascii() and before.isalnum()):
            continue
        if _CJK_RE.match(needle[-1]) is None and (after.isascii() and after.isalnum()):
            continue
        if strict and (before in inner or after in inner):
            continue
        prefix, suffix = hay[max(0, m.start() - 24): m.start()], hay[m.end(): m.end() + 12]
        if _NEGATION_RE.search(_loose(prefix) if strict else prefix):
            continue
        if re.search(r"(?:\bor|或者?|还是)\s*$", prefix) or re.match(r"\s*(?:or\b|或|还是)", suffix):
            result = "hedged"
            continue
        return "match"
    return result


# ---------------------------------------------------------------- public API

def score_answer(response: str, answer: str, language: str | None = None) -> tuple[bool, str]:
    """(correct?, extracted answer) for one reply; the rules are in the module docstring.

    `answer` may list alternatives separated by " || "; any one of them is enough.
    `language` (e.g. "zh-Hans") turns on Chinese numerals even in a reply without
    Chinese characters; they are read anyway when the reply contains any.
    """
    if not response or not response.strip():
        return False, ""
    alts = [a.strip() for a in answer.split(ALT_SEP) if a.strip()]
    s = _clean(response)
    cjk = bool(_CJK_RE.search(s)) or (language or "").lower().startswith("zh")
    extracted = ""
    numeric = [a for a in alts if is_numeric_answer(a)]
    if numeric:
        value, extracted = _extract_number(s, cjk)
        if value is not None and any(value == _to_decimal(a) for a in numeric):
            return True, extracted
    text_alts = [a for a in alts if not is_numeric_answer(a)]
    if text_alts:
        stmt = _marker_statement(s)
        if stmt is None:
            stmt = _last_line(s)
        stmt_extract = stmt.strip()[:120]
        if any(_match_text(stmt, a) == "match" for a in text_alts):
            return True, stmt_extract
        if not numeric:
            extracted = stmt_extract
    return False, extracted
