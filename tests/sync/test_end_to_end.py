"""The promises, end to end through the CLI: creates, no-op reruns, only changes go."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sync.cli import sync_group
from tests.sync.checks import assert_everything_synced, seed_all
from tests.sync.conftest import Crm, Warehouse, write_config


def run_cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(sync_group, ["--config", str(config), *args],
                                catch_exceptions=False)
    return result.exit_code, result.output


def test_first_sync_creates_everything(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_all(crm)
    config = write_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == 0, out
    assert_everything_synced(warehouse, crm)
    assert crm.sf.jobs_by_object == {"Contact": 1, "CampaignMember": 1}
    assert crm.hs.calls["upsert"] == 1  # 60 contacts fit in one batch
