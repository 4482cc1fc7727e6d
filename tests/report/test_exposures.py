"""dbt exposures: the CRM sync and the report appear in lineage, on models that exist."""

from __future__ import annotations

import json

import yaml

from tests.conftest import REPO_ROOT, DemoWarehouse
from tests.dbt_harness import dbt_target_dir


def _manifest(demo_warehouse: DemoWarehouse) -> dict[str, object]:
    path = dbt_target_dir(demo_warehouse.path) / "manifest.json"
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_exposures_depend_on_models_that_were_built(demo_warehouse: DemoWarehouse) -> None:
    manifest = _manifest(demo_warehouse)
    exposures = manifest["exposures"]
    nodes = manifest["nodes"]
    assert isinstance(exposures, dict) and isinstance(nodes, dict)
    assert {"exposure.segments.crm_sync", "exposure.segments.segment_report"} <= set(exposures)
    for exposure in exposures.values():
        depends = exposure["depends_on"]["nodes"]
        assert depends, exposure["name"]
        for node in depends:
            assert node in nodes, f"{exposure['name']} depends on {node}, which is not in the project"
        assert exposure["owner"]["name"]
        assert len(exposure["description"]) > 100


def test_sync_exposure_covers_the_tables_the_sync_reads(demo_warehouse: DemoWarehouse) -> None:
    config = yaml.safe_load((REPO_ROOT / "sync.example.yml").read_text())
    read = {
        str(config["warehouse"]["segments_table"]).split(".")[-1],
        str(config["warehouse"]["triggers_table"]).split(".")[-1],
    }
    exposure = _manifest(demo_warehouse)["exposures"]["exposure.segments.crm_sync"]  # type: ignore[index]
    assert {n.rsplit(".", 1)[-1] for n in exposure["depends_on"]["nodes"]} == read


def test_report_exposure_covers_every_model_the_report_reads() -> None:
    from tests.report.synthetic import MAIN_RELATIONS

    exposures = yaml.safe_load((REPO_ROOT / "models" / "exposures.yml").read_text())["exposures"]
    report = next(e for e in exposures if e["name"] == "segment_report")
    refs = {d.split("'")[-2] for d in report["depends_on"]}
    assert set(MAIN_RELATIONS) <= refs
