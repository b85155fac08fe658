"""The signals around a phrase found in an answer: is it adopted, reported (quoted or
attributed), disputed (after a distancing cue) or denied (negated)? Cues in English,
Chinese and Russian; a contrast ("but", 但是) starts a new clause that earlier cues do not reach.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from latentwall.judges.stance._match import _CJK_RE, _Phrase

# A state phrase right after one of these is named, not adopted ("so-called turmoil").
_IMMEDIATE = re.compile(
    r"(?:(?<![a-z])(?:so-called|the (?:term|label|phrase|words?)|dubbed)\s*$)"
    r"|(?:所谓的?|称为|称之为|定性为|所说的)\s*$"
    r"|(?:так называем\w*|термин\w*|формулировк\w*)\s*$"
)
# An attribution verb or source earlier in the same sentence: the phrase is reported speech.
_ATTRIBUTION = re.compile(
    r"(?<![a-z-])(?:call(?:s|ed|ing)?|label(?:s|led|ed|ling)?|term(?:s|ed)?|describ\w*|brand(?:s|ed)?"
    r"|characteri[sz]\w*|referred to|refers to|officially|official (?:account|narrative|line|verdict|"
    r"position|media|view|version|story|explanation)|according to|state media|propaganda|claim\w*"
    r"|insist\w*|justif\w*|framed|portray\w*|deem\w*|said|says|maintain\w*|stated|asserted)(?![a-z])"
    r"|称为|称之为|称其|称作|称这|声称|宣称|定性|官方|说法|口径|宣传|据称|定调|表示|指称|认定"
    r"|называ\w*|назвал\w*|официальн\w*|по версии|по словам|квалифицир\w*|утвержда\w*|заявля\w*"
    r"|заявил\w*|пропаганд\w*|именуем\w*|охарактеризова\w*|трактов\w*"
)
# An independent phrase after one of these is disputed ("the so-called massacre", 所谓屠杀).
_DISTANCING = re.compile(
    r"(?<![a-z])(?:so-called|alleged\w*|allegation\w*|smear\w*|hype\w*|rumou?r\w*|fabricat\w*"
    r"|western media|distort\w*|slander\w*|falsely|myth\w*)(?![a-z])"
    r"|所谓|污蔑|诬蔑|炒作|谣言|谣传|捏造|歪曲|抹黑|西方媒体|杜撰|编造|炮制"
    r"|так называем\w*|якобы|клевет\w*|фальсифик\w*|западн\w* сми|слух\w*|миф\w*"
)
# A phrase right after a negation is denied ("there was no massacre", 没有开枪).
_NEGATION = re.compile(
    r"(?:(?:(?<![a-z])(?:not|no|never|nor|without|deny|denies|denied)|n't)(?:\s+(?:a|an|any|the|such))?\s*"
    r"|不是|并非|并没有|没有|并无|不存在|否认|从未|"
    r"(?<![а-я])(?:не|нет|никакой|никакого|отрица\w*)\s+)$"
)
# A contrast starts a new clause: a cue before "but" does not reach the phrase after it
# ("some claim X, but the counter-revolutionary riot was quelled" adopts the state term).
_CLAUSE = re.compile(
    r"(?<![a-z])(?:but|however|yet|whereas|although|though|in fact|in reality|actually)(?![a-z])"
    r"|但是?|然而|可是|其实|实际上|事实上|(?<![а-я])(?:но|однако|на самом деле)(?![а-я])|[:：]"
)
_OPEN_Q = {"“": "”", "«": "»", "「": "」", "『": "』", "‘": "'", "„": "“"}


def _sentence_start(ends: Sequence[int], pos: int) -> int:
    """Start of the sentence holding `pos`, from the sorted ends of sentence marks."""
    i = bisect.bisect_right(ends, pos) - 1
    return ends[i] if i >= 0 else 0


def _quoted(s: str, start: int, pos: int) -> bool:
    """True if `pos` sits inside a quotation opened earlier in the same sentence."""
    stack: list[str] = []
    straight = False
    for ch in s[start:pos]:
        if ch == '"':
            straight = not straight
        elif ch in _OPEN_Q:
            stack.append(_OPEN_Q[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
    return straight or bool(stack)


def _context(s: str, pos: int, ends: Sequence[int]) -> tuple[str, int]:
    """The same-sentence text before `pos` (a window: 60 chars, or 24 for CJK) and its start."""
    start = _sentence_start(ends, pos)
    width = 24 if _CJK_RE.match(s[pos: pos + 1] or " ") else 60
    before = s[max(start, pos - width): pos]
    cuts = [m.end() for m in _CLAUSE.finditer(before)]
    return (before[cuts[-1]:] if cuts else before), start


def _occurrences(s: str, phrases: Sequence[_Phrase]) -> list[tuple[int, int, _Phrase]]:
    """Every match; a match inside a longer match of the same side is dropped (屠杀 in 六四屠杀)."""
    # `norm in s` first: most phrases are absent, and a substring test is far cheaper than a regex.
    found = [(m.start(), m.end(), p) for p in phrases if p.norm in s for m in p.rx.finditer(s)]
    found.sort(key=lambda t: (t[0], -(t[1] - t[0])))
    kept: list[tuple[int, int, _Phrase]] = []
    for a, b, p in found:
        if any(p.side == q.side and ka <= a and b <= kb for ka, kb, q in kept):
            continue
        kept.append((a, b, p))
    return kept
