"""`segments sync setup`: Salesforce custom fields (Metadata API), HubSpot group and properties."""

from __future__ import annotations

from pathlib import Path

from sync.cli import EXIT_OK
from tests.sync.checks import assert_everything_synced
from tests.sync.conftest import (
    RFM,
    VALUE_SEGMENTS,
    Crm,
    Warehouse,
    segment_row,
    write_config,
)
from tests.sync.test_end_to_end import run_cli


def test_setup_creates_what_the_run_needs(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    config = write_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "setup", "--permission-set", "Segments_Sync")
    assert code == EXIT_OK, out
    # Salesforce: custom fields through upsertMetadata, typed from the warehouse columns.
    fields = crm.sf.fields["Contact"]
    assert fields["customer_id__c"]["externalId"] is True
    assert fields["value_confidence__c"]["type"] == "double"
    assert fields["segments_as_of__c"]["type"] == "date"
    assert fields["value_segment__c"]["type"] == "string"
    assert ("PermissionSet", "Segments_Sync") in crm.sf.metadata
    assert "Field-level security" in out and "Segments_Sync" in out
    assert "standard field, not created" in out  # Email and LastName are not custom
    # HubSpot: a property group and enumeration properties whose options are the segments.
    hs = crm.hs
    assert "customer_segments" in hs.groups
    prop = hs.properties["value_segment"]
    assert prop["type"] == "enumeration" and prop["groupName"] == "customer_segments"
    assert {o["value"] for o in prop["options"]} == set(VALUE_SEGMENTS)
    assert {o["value"] for o in hs.properties["rfm_segment"]["options"]} == set(RFM)
    assert hs.properties["value_confidence"]["type"] == "number"
    assert hs.properties["segments_as_of"]["type"] == "date"
    assert "crm.lists.write" in out
    # Everything the run needs now exists.
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert_everything_synced(warehouse, crm)


def test_setup_is_repeatable_and_adds_new_segments(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    config = write_config(tmp_path, warehouse, crm, destinations=("hubspot",))
    assert run_cli(config, "setup")[0] == EXIT_OK
    rows = [segment_row(i) for i in range(1, 61)]
    rows[5]["value_segment"] = "Rising Stars"
    warehouse.write_segments(rows)
    code, out = run_cli(config, "setup")
    assert code == EXIT_OK, out
    assert "added Rising Stars" in out
    assert "unchanged property group customer_segments" in out
    values = [o["value"] for o in crm.hs.properties["value_segment"]["options"]]
    assert values.count("Rising Stars") == 1 and set(VALUE_SEGMENTS) <= set(values)


def test_setup_reports_a_type_conflict(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    crm.hs.properties["value_confidence"] = crm.hs._property(
        {"name": "value_confidence", "label": "x", "type": "string", "fieldType": "text"}
    )
    config = write_config(tmp_path, warehouse, crm, destinations=("hubspot",))
    code, out = run_cli(config, "setup")
    assert code == 1
    assert "value_confidence exists with type string, expected number" in out
