"""Report how long the conformance builds took, so the suite's cost stays visible."""

from __future__ import annotations

import pytest

from tests.conformance.checks import BUILD_SECONDS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if BUILD_SECONDS:
        terminalreporter.write_line(
            f"conformance: {len(BUILD_SECONDS)} dbt runs, {sum(BUILD_SECONDS):.0f}s in all, "
            f"{max(BUILD_SECONDS):.0f}s the longest"
        )
