"""One visual style for every chart: colours, sizes and the matplotlib settings behind them.

The three verdict colours differ in lightness (L* about 84, 60 and 19), so they stay
apart in grey print, and in hue along the blue-orange axis that red-green colour-blind
readers see; tests check both (CIE L* steps, and colour differences under simulated
deuteranopia, protanopia and tritanopia). Sizes are in inches and points: a chart is 7.2
inches wide (a laptop screen or a page column at 100%), text 9-11 pt.

Only DejaVu Sans (shipped inside matplotlib, so present offline and the same on every
machine) is used, and the SVG has its text as paths with a fixed hash salt and no date,
so the same data always give the same bytes.
"""

from __future__ import annotations

from typing import Any

# Verdicts: COMPLETE light, EVASIVE mid, DENIAL dark.
VERDICT_COLOURS: dict[str, str] = {"COMPLETE": "#b3d6e8", "EVASIVE": "#d27b2a", "DENIAL": "#33255a"}
# Ink for a percentage printed on a segment of that colour.
VERDICT_INK: dict[str, str] = {"COMPLETE": "#1f1f1f", "EVASIVE": "#1f1f1f", "DENIAL": "#ffffff"}
VERDICT_NAMES: dict[str, str] = {"COMPLETE": "Complete", "EVASIVE": "Evasive", "DENIAL": "Denial"}

# Narrative stance: other hues (so it is never read as a verdict), the same lightness ladder
# (L* about 27, 59 and 92), also checked under simulated colour blindness.
STANCE_COLOURS: dict[str, str] = {"STATE_ALIGNED": "#6b2c14", "MIXED": "#4f9a94",
                                  "INDEPENDENT": "#f6e8b1"}
STANCE_INK: dict[str, str] = {"STATE_ALIGNED": "#ffffff", "MIXED": "#1f1f1f", "INDEPENDENT": "#1f1f1f"}
STANCE_NAMES: dict[str, str] = {"STATE_ALIGNED": "State-aligned", "MIXED": "Mixed",
                                "INDEPENDENT": "Independent"}

# Series (languages, targets, layers): Okabe-Ito, each with its own marker for grey print.
SERIES_COLOURS: tuple[str, ...] = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00",
                                   "#56b4e9", "#000000", "#f0e442")
MARKERS: tuple[str, ...] = ("o", "s", "D", "^", "v", "P", "X", "*")
# Fixed colours for the languages the suites ship, so a language looks the same in every chart.
LANGUAGE_ORDER: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant", "ru")

INK = "#1f1f1f"
MUTED = "#666666"
GRID = "#e4e4e4"
ZERO = "#3a3a3a"
BAR = "#4a6f8a"  # a single-series bar (leakage, over-blocking)
HIGHLIGHT = "#33255a"

# Installed fonts that can draw Chinese, tried in this order after DejaVu Sans (see
# _render.cjk_fallback); never downloaded.
CJK_FAMILIES: tuple[str, ...] = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
                                 "Source Han Sans CN", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                                 "Droid Sans Fallback", "Noto Sans CJK TC", "Noto Sans CJK JP")

WIDTH = 7.2  # inches
ROW = 0.3  # inches per bar row
PNG_DPI = 200
MAX_LABEL = 40  # characters of an axis label taken from a topic or target

RC: dict[str, Any] = {
    "font.family": ["DejaVu Sans"],
    "font.size": 9.5,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 8,
    "axes.labelsize": 9.5,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#8a8a8a",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.axisbelow": True,
    "axes.unicode_minus": True,
    "grid.color": GRID,
    "grid.linewidth": 0.7,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.major.size": 3,
    "ytick.major.size": 0,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "text.color": INK,
    # Model and topic text must be shown as written: no $…$ mathtext, no TeX.
    "text.parse_math": False,
    "text.usetex": False,
    "figure.facecolor": "white",
    "figure.dpi": 100,
    "savefig.facecolor": "white",
    "savefig.dpi": PNG_DPI,
    "svg.fonttype": "path",
    "svg.hashsalt": "latentwall",
    "svg.image_inline": True,
    "path.simplify": True,
    "hatch.linewidth": 0.6,
    "errorbar.capsize": 2.5,
}


def series_style(index: int) -> tuple[str, str]:
    """(colour, marker) of the index-th series."""
    return SERIES_COLOURS[index % len(SERIES_COLOURS)], MARKERS[index % len(MARKERS)]


def language_styles(languages: list[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) per language: the shipped languages keep theirs in every chart."""
    out: dict[str, tuple[str, str]] = {}
    spare = len(LANGUAGE_ORDER)
    for lang in languages:
        if lang in LANGUAGE_ORDER:
            out[lang] = series_style(LANGUAGE_ORDER.index(lang))
        else:
            out[lang] = series_style(spare)
            spare += 1
    return out
