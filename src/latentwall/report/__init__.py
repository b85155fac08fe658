"""Reports: one self-contained HTML file per set of runs, and summary tables in the terminal."""

from latentwall.report._html import SECTION_IDS, write_report
from latentwall.report._terminal import print_summary

__all__ = ["SECTION_IDS", "print_summary", "write_report"]
