"""HubSpot: batches of 100, 207 partial results, 429 by policy, retries, lists, options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.cli import EXIT_DAILY_LIMIT, EXIT_FAILED, EXIT_OK
from tests.sync.checks import (
    assert_hubspot_matches,
    assert_list_members,
    seed_hubspot_properties,
)
from tests.sync.conftest import (
    Crm,
    Warehouse,
    build_warehouse,
    segment_row,
    start_crm,
    write_config,
)
from tests.sync.fakes.server import Fault
from tests.sync.test_end_to_end import run_cli


def hubspot_config(tmp_path: Path, wh: Warehouse, crm: Crm, extra: str = "") -> Path:
    return write_config(tmp_path, wh, crm, destinations=("hubspot",), hubspot_extra=extra)


def test_batches_hold_at_most_100_and_match_207_results(tmp_path: Path, crm: Crm) -> None:
    wh = build_warehouse(tmp_path / "w.duckdb", 250, triggers_every=0)
    seed_hubspot_properties(crm)
    failing = {"customer17@example.com", "customer230@example.com"}
    crm.hs.input_failure = lambda item: "INVALID_EMAIL: rejected by a workflow" if item["id"] in failing else None
    config = hubspot_config(tmp_path, wh, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_FAILED, out  # records failed -> non-zero exit
    assert crm.hs.calls["upsert"] == 3  # 100 + 100 + 50
    assert len(crm.hs.contacts) == 248
    failed = wh.query(
        "SELECT record_key, error FROM segments_sync.sync_records WHERE status = 'failed' ORDER BY record_key"
    )
    assert [r[0] for r in failed] == sorted(failing)
    assert all("INVALID_EMAIL" in r[1] for r in failed)
    # The failed records have no state: the next run retries exactly them.
    crm.hs.input_failure = None
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert crm.hs.calls["upsert"] == 4
    assert_hubspot_matches(wh, crm)


def test_bad_value_in_a_batch_is_isolated(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    """Without per-record errors a 400 fails the batch: the sync splits it to find the culprit."""
    seed_hubspot_properties(crm)
    # 'Hibernating' is not an option and auto_add_options is off: HubSpot rejects it.
    crm.hs.properties["value_segment"]["options"] = [
        o for o in crm.hs.properties["value_segment"]["options"] if o["value"] != "Hibernating"
    ]
    rows = [segment_row(i) for i in range(1, 61)]
    config = hubspot_config(tmp_path, warehouse, crm, "auto_add_options: false\n")
    code, out = run_cli(config, "run")
    assert code != EXIT_OK
    assert "no option(s) Hibernating" in out or "Hibernating" in out
    # With the option added automatically, everything goes.
    config = hubspot_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert "Hibernating" in {o["value"] for o in crm.hs.properties["value_segment"]["options"]}
    assert len(rows) == len(crm.hs.contacts)


def test_whole_batch_400_is_bisected(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_hubspot_properties(crm)
    crm.hs_server.add_fault(
        Fault(
            match=lambda r: r.path.endswith("/batch/upsert") and b"customer9@" in r.body,
            status=400,
            body={
                "status": "error",
                "message": "Property values were not valid",
                "category": "VALIDATION_ERROR",
                "correlationId": "x",
            },
            times=-1,
        )
    )
    config = hubspot_config(tmp_path, warehouse, crm)
    code, _ = run_cli(config, "run")
    assert code == EXIT_FAILED
    assert len(crm.hs.contacts) == 59  # only customer 9 held back
    failed = warehouse.query("SELECT record_key FROM segments_sync.sync_records WHERE status = 'failed'")
    assert failed == [("customer9@example.com",)]


def test_rolling_429_waits_and_retries(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_hubspot_properties(crm)
    crm.hs_server.add_fault(
        Fault(
            match=lambda r: r.path.endswith("/batch/upsert"),
            status=429,
            times=2,
            body={
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "policyName": "TEN_SECONDLY_ROLLING",
                "correlationId": "c",
            },
            headers={"Retry-After": "0.05"},
        )
    )
    config = hubspot_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert "2 rate-limit wait(s)" in out
    assert_hubspot_matches(warehouse, crm)
    assert_list_members(warehouse, crm)


def test_daily_429_stops_cleanly_and_resumes(tmp_path: Path, crm: Crm) -> None:
    wh = build_warehouse(tmp_path / "w.duckdb", 450, triggers_every=10)
    seed_hubspot_properties(crm)
    config = hubspot_config(tmp_path, wh, crm)
    # Preflight uses 3 calls (properties + 2 lists); then 2 upserts of 100 go through.
    crm.hs.daily_limit = 5
    code, out = run_cli(config, "run")
    assert code == EXIT_DAILY_LIMIT, out
    assert "daily" in out.lower()
    assert len(crm.hs.contacts) == 200
    run = wh.query("SELECT outcome, n_created, n_pending, n_enroll_pending FROM segments_sync.sync_runs")
    assert run[0][:3] == ("rate_limited", 200, 250)
    assert run[0][3] > 0
    pending = wh.query(
        "SELECT count(*) FROM segments_sync.sync_records WHERE status = 'pending' AND record_type = 'contact'"
    )
    assert pending == [(250,)]
    # Next day: the budget is back and the run resumes where it stopped.
    crm.hs.daily_limit = None
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert crm.hs.calls["upsert"] == 2 + 3
    assert_hubspot_matches(wh, crm)
    assert_list_members(wh, crm)


@pytest.mark.parametrize("kind", ["status", "drop", "drop_after"])
def test_transient_failures_are_retried(tmp_path: Path, warehouse: Warehouse, crm: Crm, kind: str) -> None:
    seed_hubspot_properties(crm)
    for path in ("/batch/upsert", "/memberships/add"):
        crm.hs_server.add_fault(Fault(match=lambda r, p=path: r.path.endswith(p), kind=kind, status=503, times=2))
    config = hubspot_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert "4 retried request(s)" in out
    assert_hubspot_matches(warehouse, crm)
    assert_list_members(warehouse, crm)


def test_persistent_5xx_gives_up_and_keeps_records_pending(tmp_path: Path, crm: Crm) -> None:
    wh = build_warehouse(tmp_path / "w.duckdb", 500, triggers_every=0)
    seed_hubspot_properties(crm)
    crm.hs_server.add_fault(Fault(match=lambda r: r.path.endswith("/batch/upsert"), status=502, times=-1))
    config = hubspot_config(tmp_path, wh, crm)
    code, _out = run_cli(config, "run")
    assert code == EXIT_FAILED
    run = wh.query("SELECT outcome, n_failed, n_pending FROM segments_sync.sync_runs")
    assert run == [("failed", 300, 200)]  # three batches failed, then it stopped
    crm.hs_server.clear_faults()
    assert run_cli(config, "run")[0] == EXIT_OK
    assert_hubspot_matches(wh, crm)


def test_deleted_contact_is_recreated_and_enrolled(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_hubspot_properties(crm)
    config = hubspot_config(tmp_path, warehouse, crm)
    assert run_cli(config, "run")[0] == EXIT_OK
    # Someone deletes an enrolled contact in HubSpot, then a new trigger arrives for it.
    contact = crm.hs.contact_by("email", "customer1@example.com")
    assert contact is not None
    crm.hs.delete_contact(contact["id"])
    import datetime as dt

    from tests.sync.conftest import trigger_id

    day = dt.date.today()
    warehouse.add_triggers([(trigger_id(1, "upsell", day), 1, "Customer1@Example.com", "upsell", day, "again", False)])
    code, _ = run_cli(config, "run")
    assert code == EXIT_FAILED  # the list add reports the contact missing…
    code, out = run_cli(config, "run")  # …so its state was dropped and it is re-created
    assert code == EXIT_OK, out
    assert_hubspot_matches(warehouse, crm)
    assert_list_members(warehouse, crm)


def test_list_must_be_manual(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_hubspot_properties(crm)
    crm.hs.lists[crm.lists["upsell"]]["processingType"] = "DYNAMIC"
    config = hubspot_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_FAILED
    assert "only MANUAL or SNAPSHOT" in out


def test_missing_property_points_to_setup(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    config = hubspot_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_FAILED
    assert "segments sync setup" in out and "value_segment" in out


def test_requests_and_responses_follow_the_openapi_documents(
    tmp_path: Path, tls_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.sync.conftest import REPO_ROOT, set_env
    from tests.sync.fakes.openapi import spec_dir

    if not spec_dir(REPO_ROOT).is_dir():
        pytest.skip(
            f"HubSpot OpenAPI documents not found at {spec_dir(REPO_ROOT)}: "
            "contract validation needs ../shared/specs/hubspot beside the repository"
        )
    crm = start_crm(tls_files, validate=True)
    set_env(monkeypatch, crm, tls_files)
    try:
        wh = build_warehouse(tmp_path / "w.duckdb", 120)
        config = hubspot_config(tmp_path, wh, crm)
        # setup (groups, properties), run (properties, lists, upserts with a 207,
        # memberships), a rerun, and a new segment option added on the fly.
        assert run_cli(config, "setup")[0] == EXIT_OK
        crm.hs.input_failure = lambda item: "rejected" if item["id"].startswith("customer5@") else None
        assert run_cli(config, "run")[0] == EXIT_FAILED
        crm.hs.input_failure = None
        rows = [segment_row(i) for i in range(1, 121)]
        rows[0]["value_segment"] = "Brand new segment"
        wh.write_segments(rows)
        assert run_cli(config, "run")[0] == EXIT_OK
        # The fake's read endpoints, through the real client, are checked too.
        from hubspot import HubSpot
        from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectId

        from tests.sync.conftest import HS_TOKEN

        client = HubSpot(access_token=HS_TOKEN, host=crm.hs_server.url)
        read = client.crm.contacts.batch_api.read(
            BatchReadInputSimplePublicObjectId(
                id_property="email",
                inputs=[SimplePublicObjectId(id="customer1@example.com")],
                properties=["value_segment"],
                properties_with_history=[],
            )
        )
        assert read.results[0].properties["value_segment"] == "Brand new segment"
        page = client.crm.lists.memberships_api.get_page(list_id=crm.lists["winback"], limit=5)
        assert len(page.results) == 5 and page.paging.next.after
        assert crm.contract is not None
        assert crm.contract.checked > 10
        problems = [json.dumps(v.__dict__) for v in crm.contract.violations]
        assert not problems, "\n".join(problems)
    finally:
        crm.sf_server.stop()
        crm.hs_server.stop()


def test_a_refused_preflight_fails_the_run_with_a_message_not_a_traceback(
    tmp_path: Path, warehouse: Warehouse, crm: Crm, caplog: pytest.LogCaptureFixture
) -> None:
    """HubSpot refusing to list the contact properties (a 400 here) is the destination's error:
    the run fails with HubSpot's message in the summary and the ledger, and nothing logs a traceback."""
    seed_hubspot_properties(crm)
    crm.hs_server.add_fault(
        Fault(
            match=lambda r: r.method == "GET" and "/properties/" in r.path,
            status=400,
            body={"status": "error", "message": "Unknown object type zzz", "category": "VALIDATION_ERROR"},
            times=-1,
        )
    )
    config = hubspot_config(tmp_path, warehouse, crm)
    with caplog.at_level("ERROR"):
        code, out = run_cli(config, "run")
    assert code == EXIT_FAILED
    assert "Unknown object type zzz" in out
    assert "unexpected error" not in out
    assert not [r for r in caplog.records if "unexpected error" in r.getMessage()], "logged as a crash"
    (message,) = warehouse.query("SELECT message FROM segments_sync.sync_runs")[0]
    assert "Unknown object type zzz" in message
