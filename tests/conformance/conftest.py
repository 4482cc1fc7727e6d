"""Report how long the conformance builds took, so the suite's cost stays visible."""

from __future__ import annotations

from dataclasses import fields

import pytest

from tests.conformance.checks import BUILD_SECONDS, TYPES_BUILT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if BUILD_SECONDS:
        terminalreporter.write_line(
            f"conformance: {len(BUILD_SECONDS)} dbt runs, {sum(BUILD_SECONDS):.0f}s in all, "
            f"{max(BUILD_SECONDS):.0f}s the longest"
        )
    if TYPES_BUILT:
        for column in fields(TYPES_BUILT[0]):
            seen = sorted({str(getattr(t, column.name)) for t in TYPES_BUILT})
            terminalreporter.write_line(f"conformance: {column.name}: {', '.join(seen)}")
