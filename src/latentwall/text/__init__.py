"""Text: made valid where it comes in, made safe where it goes out, and the language tables.

Edges: `repair` (lone surrogates to U+FFFD where text enters; it lives with the data-file
readers in `latentwall.datafiles`, which are below this package), and in `_edges.py`
`terminal_text` (the one terminal cleaner), `escape_html` (the one HTML escaper) and
`json_line` (JSONL without raw line separators).

Tables (`_tables.py`, data in `text/data/`): the CJK ranges, Traditional→Simplified,
pinyin, look-alike letters, leetspeak and invisible characters, shared by the judge, the
guards, the strategies and the narrative-stance scorer.
"""

from latentwall.datafiles import REPLACEMENT, repair, repair_value, repaired_note
from latentwall.text._edges import escape_html, json_line, terminal_text, visible
from latentwall.text._tables import (
    CJK,
    CJK_RE,
    KANA,
    PinyinTable,
    char_readings,
    confusable_fold,
    is_cjk,
    is_invisible,
    leet_read,
    line_of,
    mapping_of,
    pinyin_backend,
    pinyin_table,
    read_t2s,
    strip_invisible,
    t2s_table,
    table_path,
    to_simplified,
    word_syllables,
)

__all__ = [
    "CJK", "CJK_RE", "KANA", "REPLACEMENT", "PinyinTable", "char_readings", "confusable_fold",
    "escape_html", "is_cjk", "is_invisible", "json_line", "leet_read", "line_of", "mapping_of",
    "pinyin_backend", "pinyin_table", "read_t2s", "repair", "repair_value", "repaired_note",
    "strip_invisible", "t2s_table", "table_path", "terminal_text", "to_simplified", "visible",
    "word_syllables",
]
