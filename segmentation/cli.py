"""The ``segments`` command line.

Sub-commands live next to the code they drive and are imported only when
called, so ``segments --help`` stays instant and a broken optional dependency
of one command cannot take the others down.
"""

from __future__ import annotations

import importlib

import click

_COMMANDS: dict[str, tuple[str, str]] = {
    "demo-data": ("segmentation.demo.cli", "demo_data_command"),
    "backfill": ("segmentation.backfill", "backfill_command"),
    "fit": ("segmentation.fit_cli", "fit_command"),
    "report": ("segmentation.report.cli", "report_command"),
    "summary": ("segmentation.report.cli", "summary_command"),
    "sync": ("sync.cli", "sync_group"),
}


class _LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in _COMMANDS:
            return command
        module_name, attribute = _COMMANDS[cmd_name]
        loaded = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(loaded, click.Command):
            raise TypeError(f"{module_name}.{attribute} is not a click command")
        return loaded


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="warehouse-segments")
def main() -> None:
    """Customer segments built in the warehouse with dbt, delivered to the CRM."""


def register(name: str, module_name: str, attribute: str) -> None:
    """Add a lazily imported sub-command (used by optional extensions)."""
    _COMMANDS[name] = (module_name, attribute)
