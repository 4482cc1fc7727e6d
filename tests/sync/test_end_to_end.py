"""The promises, end to end through the CLI: creates, no-op reruns, only changes go."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from click.testing import CliRunner

from sync.cli import EXIT_OK, sync_group
from tests.sync.checks import (
    assert_everything_synced,
    expected_enrollments,
    seed_all,
)
from tests.sync.conftest import (
    HS_FIELDS,
    SF_FIELDS,
    VALUE_SEGMENTS,
    Crm,
    Warehouse,
    segment_row,
    trigger_rows,
    write_config,
)


def run_cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(sync_group, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.output


def ledger(wh: Warehouse, sql: str) -> list[tuple[object, ...]]:
    return wh.query(sql)


def salesforce_keys_sent_last(crm: Crm) -> list[str]:
    """External IDs in the CSV of the last Salesforce Contact job."""
    last = [j for j in crm.sf.jobs.values() if j.object == "Contact"][-1]
    return [r["Customer_Id__c"] for r in csv.DictReader(io.StringIO(last.data.decode()))]


def test_first_sync_creates_everything(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_all(crm)
    config = write_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert_everything_synced(warehouse, crm)
    assert crm.sf.jobs_by_object == {"Contact": 1, "CampaignMember": 1}
    assert crm.hs.calls["upsert"] == 1  # 60 contacts fit in one batch
    assert "Sync summary" in out
    runs = ledger(
        warehouse,
        "SELECT destination, outcome, n_created, n_updated, n_unchanged, "
        "n_enrolled, n_skipped_control FROM segments_sync.sync_runs ORDER BY 1",
    )
    enrolled = sum(len(v) for v in expected_enrollments(warehouse).values())
    controls = sum(1 for t in warehouse.triggers() if t["is_control"])
    assert runs == [
        ("hubspot", "succeeded", 60, 0, 0, enrolled, controls),
        ("salesforce", "succeeded", 60, 0, 0, enrolled, controls),
    ]
    # Every contact and enrollment is confirmed in the state table, with its CRM id.
    state = ledger(
        warehouse,
        "SELECT destination, record_type, count(*), "
        "count(destination_id) FROM segments_sync.sync_state GROUP BY ALL ORDER BY 1, 2",
    )
    assert state == [
        ("hubspot", "contact", 60, 60),
        ("hubspot", "enrollment", enrolled + controls, enrolled),
        ("salesforce", "contact", 60, 60),
        ("salesforce", "enrollment", enrolled + controls, enrolled),
    ]


def test_second_sync_without_changes_sends_nothing(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_all(crm)
    config = write_config(tmp_path, warehouse, crm)
    assert run_cli(config, "run")[0] == EXIT_OK
    jobs_before = dict(crm.sf.jobs_by_object)
    hs_before = dict(crm.hs.calls)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert crm.sf.jobs_by_object == jobs_before, "no new Bulk job when nothing changed"
    assert crm.hs.calls["upsert"] == hs_before["upsert"]
    assert crm.hs.calls["list_add"] == hs_before["list_add"]
    runs = ledger(
        warehouse,
        "SELECT destination, n_created + n_updated, n_unchanged, n_enrolled "
        "FROM segments_sync.sync_runs ORDER BY started_at DESC, destination LIMIT 2",
    )
    assert sorted(runs) == [("hubspot", 0, 60, 0), ("salesforce", 0, 60, 0)]
    assert_everything_synced(warehouse, crm)


def test_segment_change_sends_only_changed_records(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_all(crm)
    config = write_config(tmp_path, warehouse, crm)
    assert run_cli(config, "run")[0] == EXIT_OK
    changed = {3, 17, 42}
    rows = [segment_row(i, version=1 if i in changed else 0) for i in range(1, 61)]
    # A confidence moving in the 7th decimal is not a change worth sending.
    rows[9]["value_confidence"] += 1e-7
    warehouse.write_segments(rows)
    hs_inputs_before = crm.hs.calls["upsert"]
    code, out = run_cli(config, "plan")
    assert code == EXIT_OK, out
    assert "dry run" in out
    assert crm.hs.calls["upsert"] == hs_inputs_before, "plan must not send anything"
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert sorted(int(k) for k in salesforce_keys_sent_last(crm)) == sorted(changed)
    assert crm.hs.calls["upsert"] == hs_inputs_before + 1
    runs = ledger(
        warehouse,
        "SELECT destination, n_updated, n_created, n_unchanged "
        "FROM segments_sync.sync_runs ORDER BY started_at DESC, destination LIMIT 2",
    )
    assert sorted(runs) == [("hubspot", 3, 0, 57), ("salesforce", 3, 0, 57)]
    assert_everything_synced(warehouse, crm)


def test_new_triggers_enroll_once_and_controls_are_skipped(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_all(crm)
    config = write_config(tmp_path, warehouse, crm)
    assert run_cli(config, "run")[0] == EXIT_OK
    members_before = len(crm.sf.members())
    # New triggers for other customers, a day later; one repeats a journey for a member.
    import datetime as dt

    new = trigger_rows(60, every=3, day=dt.date.today())
    warehouse.add_triggers(new)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert_everything_synced(warehouse, crm)
    assert len(crm.sf.members()) > members_before
    # Re-running changes nothing and queries before inserting.
    jobs = dict(crm.sf.jobs_by_object)
    assert run_cli(config, "run")[0] == EXIT_OK
    assert crm.sf.jobs_by_object == jobs
    skipped = ledger(
        warehouse,
        "SELECT count(*) FROM segments_sync.sync_records WHERE action = 'skip_control' AND status = 'skipped'",
    )
    controls = sum(1 for t in warehouse.triggers() if t["is_control"])
    assert skipped[0][0] == 2 * controls  # recorded once per destination, never enrolled


def test_old_triggers_outside_lookback_are_ignored(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    import datetime as dt

    seed_all(crm)
    warehouse.add_triggers(
        [
            ("old-1", 2, "Customer2@Example.com", "winback", dt.date.today() - dt.timedelta(days=90), "old", False),
        ]
    )
    config = write_config(tmp_path, warehouse, crm)
    assert run_cli(config, "run")[0] == EXIT_OK
    assert ledger(warehouse, "SELECT count(*) FROM segments_sync.sync_state WHERE record_key = 'old-1'") == [(0,)]
    assert_everything_synced(warehouse, crm)


def test_null_and_duplicate_keys_are_rejected_and_reported(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_all(crm)
    rows = [segment_row(i) for i in range(1, 61)]
    rows[4]["email"] = None  # customer 5: no email (HubSpot key)
    rows[6]["email"] = "customer8@example.COM"  # customer 7 now shares 8's email
    rows[10]["email"] = "not-an-email"
    warehouse.write_segments(rows)
    config = write_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "plan")
    assert code == EXIT_OK, out
    assert "rejected" in out and "duplicate match key" in out
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out  # rejected rows are reported, not a failure…
    code, _ = run_cli(config, "run", "--fail-on-invalid")
    assert code == 1  # …unless asked
    rejected = ledger(
        warehouse,
        "SELECT record_key, error FROM segments_sync.sync_records "
        "WHERE destination = 'hubspot' AND status = 'rejected' "
        "AND record_type = 'contact' ORDER BY recorded_at, record_key LIMIT 4",
    )
    keys = sorted(str(r[0]) for r in rejected)
    assert keys == ["", "customer8@example.com", "customer8@example.com", "not-an-email"]
    assert all(r[1] for r in rejected)
    assert crm.hs.contact_by("email", "customer8@example.com") is None
    assert len(crm.hs.contacts) == 56
    # Salesforce matches on customer_id, so the same rows are fine there.
    assert len(crm.sf.by_external_id("Contact", "Customer_Id__c")) == 60


def test_status_shows_runs_and_failures(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_all(crm)
    config = write_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "status")
    assert code == EXIT_OK and "No sync runs" in out
    crm.sf.row_failure = lambda obj, row: (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION:bad:--" if row.get("Customer_Id__c") == "7" else None
    )
    code, out = run_cli(config, "run")
    assert code == 1, out
    code, out = run_cli(config, "status")
    assert code == EXIT_OK
    assert "Last sync runs" in out and "partial" in out
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in out and "'7'" in out


def test_full_resend_ignores_state(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_all(crm)
    config = write_config(tmp_path, warehouse, crm, destinations=("hubspot",))
    assert run_cli(config, "run")[0] == EXIT_OK
    # Someone edits a contact in HubSpot; the ledger cannot know, --full repairs it.
    contact = crm.hs.contact_by("email", "customer1@example.com")
    assert contact is not None
    contact["properties"]["value_segment"] = "Loyal"
    assert run_cli(config, "run")[0] == EXIT_OK
    assert contact["properties"]["value_segment"] == "Loyal"
    assert run_cli(config, "run", "--full")[0] == EXIT_OK
    assert contact["properties"]["value_segment"] == segment_row(1)["value_segment"]


def test_plan_counts_and_sample(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    from sync.config import load_config
    from sync.engine import Engine
    from sync.warehouse import open_warehouse

    seed_all(crm)
    config_path = write_config(tmp_path, warehouse, crm)
    config = load_config(config_path)

    def plans() -> dict[str, object]:
        wh = open_warehouse(config.warehouse, read_only=True)
        try:
            engine = Engine(config, wh)
            return {d.name: engine.plan(d) for d in config.destinations}
        finally:
            wh.close()

    before = plans()
    hs = before["hubspot"]
    assert (hs.creates, hs.updates, hs.unchanged, hs.invalid) == (60, 0, 0, 0)  # type: ignore[attr-defined]
    assert hs.estimated_calls["upsert"] == 1  # type: ignore[attr-defined]
    assert len(hs.sample) == 5 and hs.sample[0]["action"] == "create"  # type: ignore[attr-defined]
    assert run_cli(config_path, "run")[0] == EXIT_OK
    rows = [segment_row(i, version=1 if i in (5, 6) else 0) for i in range(1, 61)]
    warehouse.write_segments(rows)
    after = plans()
    sf = after["salesforce"]
    assert (sf.creates, sf.updates, sf.unchanged) == (0, 2, 58)  # type: ignore[attr-defined]
    assert {s["key"] for s in sf.sample} == {"5", "6"}  # type: ignore[attr-defined]
    assert sf.enroll == 0  # type: ignore[attr-defined]
    code, out = run_cli(config_path, "plan", "-d", "salesforce")
    assert code == EXIT_OK and "salesforce" in out and "hubspot" not in out.split("Sync plan")[1]


def test_progress_bar_and_single_destination(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_all(crm)
    config = write_config(tmp_path, warehouse, crm)
    result = CliRunner().invoke(sync_group, ["--config", str(config), "run", "--progress", "-d", "hubspot"])
    assert result.exit_code == EXIT_OK, result.output
    assert "hubspot: contacts" in result.stderr
    assert crm.sf.jobs_by_object == {}  # salesforce was not selected
    code, out = run_cli(config, "status", "-d", "hubspot")
    assert code == EXIT_OK and "hubspot" in out
    code, out = run_cli(config, "run", "-d", "nope")
    assert code == 2 and "no destination named 'nope'" in out


def test_after_a_month_of_migrations_only_the_movers_are_sent_with_previous_and_since(
    tmp_path: Path, warehouse: Warehouse, crm: Crm
) -> None:
    """The example config's choice: previous segment and since date mapped, no per-run as_of_date.

    A month later every row has a new as_of_date, but only the customers who moved
    get a new segment, previous segment and since date, so only they are sent.
    """
    migration = {"Value_Previous_Segment__c": "value_previous_segment", "Value_Segment_Since__c": "value_segment_since"}
    sf_fields = {f: c for f, c in SF_FIELDS.items() if c != "as_of_date"} | migration
    hs_fields = {p: c for p, c in HS_FIELDS.items() if c != "as_of_date"} | {
        "value_previous_segment": "value_previous_segment",
        "value_segment_since": "value_segment_since",
    }
    config = write_config(tmp_path, warehouse, crm, sf_fields=sf_fields, hs_fields=hs_fields)
    code, out = run_cli(config, "setup")
    assert code == EXIT_OK, out
    assert crm.hs.properties["value_segment_since"]["type"] == "date"
    # nobody has moved yet, yet the dropdown already offers every segment one can leave
    previous = crm.hs.properties["value_previous_segment"]
    assert previous["type"] == "enumeration"
    assert {o["value"] for o in previous["options"]} == set(VALUE_SEGMENTS)
    assert crm.sf.fields["Contact"]["value_previous_segment__c"]["type"] == "string"
    assert run_cli(config, "run")[0] == EXIT_OK

    moved = {3, 17, 42}
    month_later = dt.date(2024, 7, 1)
    rows = []
    for i in range(1, 61):
        row = segment_row(i, version=1 if i in moved else 0)
        row["as_of_date"] = month_later
        if i in moved:
            row["value_previous_segment"] = segment_row(i)["value_segment"]
            row["value_segment_since"] = month_later
        rows.append(row)
    warehouse.write_segments(rows)
    # the previous-segment property gets its options before the run (auto_add_options)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert sorted(int(k) for k in salesforce_keys_sent_last(crm)) == sorted(moved)
    contacts = crm.sf.by_external_id("Contact", "Customer_Id__c")
    for i in moved:
        record = contacts[str(i)]
        assert record["Value_Previous_Segment__c"] == segment_row(i)["value_segment"]
        assert record["Value_Segment_Since__c"] == "2024-07-01"
        hs = crm.hs.contact_by("email", f"customer{i}@example.com")
        assert hs is not None
        assert hs["properties"]["value_previous_segment"] == segment_row(i)["value_segment"]
        assert hs["properties"]["value_segment_since"] == "2024-07-01"
    runs = ledger(
        warehouse,
        "SELECT destination, n_updated, n_unchanged FROM segments_sync.sync_runs "
        "ORDER BY started_at DESC, destination LIMIT 2",
    )
    assert sorted(runs) == [("hubspot", 3, 57), ("salesforce", 3, 57)]


def test_warehouse_text_is_printed_as_it_is_never_as_markup(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    """An email `[/red]` and segment names that look like Rich markup or emoji codes come out literally."""
    seed_all(crm)
    rows = [segment_row(i) for i in range(1, 61)]
    rows[4]["email"] = "[/red]"  # rejected by HubSpot's key check, printed in plan and status
    rows[5]["value_segment"] = "[bold]VIP[/bold]"
    rows[6]["value_segment"] = ":Email: fans"
    warehouse.write_segments(rows)
    config = write_config(tmp_path, warehouse, crm)
    for verb in ("plan", "run", "status"):
        code, out = run_cli(config, verb)
        assert code == EXIT_OK, out
        if verb != "status":
            assert "'[/red]'" in out, verb  # the rejected key, as the warehouse holds it
    contacts = crm.sf.by_external_id("Contact", "Customer_Id__c")
    assert contacts["6"]["Value_Segment__c"] == "[bold]VIP[/bold]"
    assert contacts["7"]["Value_Segment__c"] == ":Email: fans"
