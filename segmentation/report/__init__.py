"""The segment report: one self-contained HTML page, and a terminal summary.

``build_report`` reads the warehouse read-only (aggregates in DuckDB, a bounded sample
for the scatter plot), renders plotly figures into a Jinja2 page with plotly.js
inlined once, and writes it atomically. The click commands live in
:mod:`segmentation.report.cli`.
"""

from segmentation.report.build import ReportResult, build_report, default_report_path
from segmentation.report.source import Missing, ReportError

__all__ = ["Missing", "ReportError", "ReportResult", "build_report", "default_report_path"]
