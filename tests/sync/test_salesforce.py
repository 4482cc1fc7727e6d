"""Salesforce: one Bulk job per object, results matched by key, #N/A, CampaignMembers."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from sync.cli import EXIT_FAILED, EXIT_OK
from sync.config import RetryPolicy, SalesforceDestination, load_config
from sync.destinations.salesforce import RetryingSession, SalesforceConnector
from sync.errors import DestinationError
from sync.secrets import SalesforceCredentials
from tests.sync.checks import (
    assert_campaign_members,
    assert_salesforce_matches,
    seed_all,
    seed_salesforce_fields,
)
from tests.sync.conftest import Crm, Warehouse, build_warehouse, segment_row, write_config
from tests.sync.fakes.server import Fault
from tests.sync.test_end_to_end import run_cli


def sf_config(tmp_path: Path, wh: Warehouse, crm: Crm, extra: str = "") -> Path:
    return write_config(tmp_path, wh, crm, destinations=("salesforce",), salesforce_extra=extra)


def test_one_job_per_object_and_results_matched_by_key(tmp_path: Path, crm: Crm) -> None:
    wh = build_warehouse(tmp_path / "w.duckdb", 500, triggers_every=5)
    seed_salesforce_fields(crm)
    crm.sf.polls_before_complete = 2  # jobs report InProgress before completing
    config = sf_config(tmp_path, wh, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert crm.sf.jobs_by_object == {"Contact": 1, "CampaignMember": 1}
    # The fake returns results shuffled: ids in the ledger must still be right.
    ids = dict(
        wh.query("SELECT record_key, destination_id FROM segments_sync.sync_state WHERE record_type = 'contact'")
    )
    contacts = crm.sf.by_external_id("Contact", "Customer_Id__c")
    assert all(ids[key] == contacts[key]["Id"] for key in ids)
    assert len(ids) == 500
    assert_salesforce_matches(wh, crm)
    assert_campaign_members(wh, crm)


def test_nulls_clear_fields_with_na(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_salesforce_fields(crm)
    config = sf_config(tmp_path, warehouse, crm)
    assert run_cli(config, "run")[0] == EXIT_OK
    rows = [segment_row(i) for i in range(1, 61)]
    rows[0]["channel_segment"] = None
    rows[0]["value_confidence"] = None
    warehouse.write_segments(rows)
    assert run_cli(config, "run")[0] == EXIT_OK
    job = [j for j in crm.sf.jobs.values() if j.object == "Contact"][-1]
    sent = list(csv.DictReader(io.StringIO(job.data.decode())))
    assert len(sent) == 1
    assert sent[0]["Channel_Segment__c"] == "#N/A"
    assert sent[0]["Value_Confidence__c"] == "#N/A"
    record = crm.sf.by_external_id("Contact", "Customer_Id__c")["1"]
    assert record["Channel_Segment__c"] is None and record["Value_Confidence__c"] is None
    assert_salesforce_matches(warehouse, crm)


def test_failed_rows_are_retried_next_run(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_salesforce_fields(crm)
    crm.sf.row_failure = lambda obj, row: (
        "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--"
        if obj == "Contact" and row.get("Customer_Id__c") in ("9", "41")
        else None
    )
    config = sf_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_FAILED
    failed = warehouse.query(
        "SELECT record_key, error FROM segments_sync.sync_records "
        "WHERE status = 'failed' AND record_type = 'contact' ORDER BY 1"
    )
    assert [r[0] for r in failed] == ["41", "9"]
    assert all("UNABLE_TO_LOCK_ROW" in r[1] for r in failed)
    # Enrollment of a customer whose contact failed waits instead of failing.
    waiting = warehouse.query(
        "SELECT count(*) FROM segments_sync.sync_records WHERE record_type = 'enrollment' AND status = 'pending'"
    )
    assert waiting[0][0] == 2  # customers 9 and 41 have triggers
    crm.sf.row_failure = None
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    job = [j for j in crm.sf.jobs.values() if j.object == "Contact"][-1]
    assert sorted(r["Customer_Id__c"] for r in csv.DictReader(io.StringIO(job.data.decode()))) == ["41", "9"]
    assert_salesforce_matches(warehouse, crm)
    assert_campaign_members(warehouse, crm)


def test_job_that_ends_failed_loses_nothing(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_salesforce_fields(crm)
    crm.sf.fail_next_jobs = 1
    config = sf_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_FAILED
    assert "simulated job failure" in out
    run = warehouse.query("SELECT n_failed, n_created FROM segments_sync.sync_runs")
    assert run == [(60, 0)]
    assert warehouse.query("SELECT count(*) FROM segments_sync.sync_state WHERE record_type = 'contact'") == [(0,)]
    assert run_cli(config, "run")[0] == EXIT_OK
    assert_salesforce_matches(warehouse, crm)
    assert_campaign_members(warehouse, crm)


def test_existing_members_are_not_inserted_again(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    """Even when the ledger forgets enrollments, SOQL finds the members first."""
    seed_salesforce_fields(crm)
    crm.sf.unique_members = False  # Salesforce would refuse; prove we do not even try
    config = sf_config(tmp_path, warehouse, crm)
    assert run_cli(config, "run")[0] == EXIT_OK
    members = len(crm.sf.members())
    import duckdb

    con = duckdb.connect(str(warehouse.path))
    con.execute("DELETE FROM segments_sync.sync_state WHERE record_type = 'enrollment'")
    con.close()
    assert run_cli(config, "run")[0] == EXIT_OK
    assert len(crm.sf.members()) == members
    assert crm.sf.duplicate_member_attempts == 0
    assert crm.sf.jobs_by_object["CampaignMember"] == 1
    already = warehouse.query("SELECT count(*) FROM segments_sync.sync_records WHERE action = 'already_member'")
    assert already[0][0] > 0
    assert_campaign_members(warehouse, crm)


def test_duplicate_value_answer_counts_as_enrolled(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    seed_salesforce_fields(crm)
    crm.sf.unique_members = True
    config = sf_config(tmp_path, warehouse, crm)
    assert run_cli(config, "run")[0] == EXIT_OK
    # Simulate a member created between our SOQL check and the insert (a race):
    # hide existing members from SOQL once; Salesforce answers DUPLICATE_VALUE.
    import duckdb

    con = duckdb.connect(str(warehouse.path))
    con.execute("DELETE FROM segments_sync.sync_state WHERE record_type = 'enrollment'")
    con.close()
    crm.sf_server.add_fault(
        Fault(
            match=lambda r: "/query" in r.path and "CampaignMember" in (r.arg("q") or ""),
            status=200,
            body={"totalSize": 0, "done": True, "records": []},
            times=-1,
        )
    )
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert crm.sf.duplicate_member_attempts > 0
    assert_campaign_members(warehouse, crm)


@pytest.mark.parametrize("kind", ["status", "drop", "drop_after"])
def test_transient_http_failures_are_retried(tmp_path: Path, warehouse: Warehouse, crm: Crm, kind: str) -> None:
    seed_salesforce_fields(crm)
    for part in ("/successfulResults", "/query/", "/describe", "/jobs/ingest"):
        crm.sf_server.add_fault(Fault(match=lambda r, p=part: r.path.endswith(p), kind=kind, status=503, times=1))
    config = sf_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert_salesforce_matches(warehouse, crm)
    assert_campaign_members(warehouse, crm)


def test_missing_fields_and_campaigns_are_reported(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    config = sf_config(tmp_path, warehouse, crm)
    code, out = run_cli(config, "run")
    assert code == EXIT_FAILED
    assert "Customer_Id__c" in out and "segments sync setup" in out
    seed_salesforce_fields(crm)
    crm.sf.delete("Campaign", crm.campaigns["upsell"])
    code, out = run_cli(config, "run")
    assert code == EXIT_FAILED
    assert "Campaign(s) not found" in out and "upsell" in out
    assert crm.sf.jobs_by_object == {}, "nothing is sent when preflight fails"


def test_password_login_through_soap(
    tmp_path: Path, warehouse: Warehouse, crm: Crm, tls_files: tuple[str, str]
) -> None:
    """Username/password login: simple-salesforce posts SOAP to <domain>.salesforce.com."""
    seed_salesforce_fields(crm)
    config = load_config(sf_config(tmp_path, warehouse, crm))
    dest = config.destinations[0]
    assert isinstance(dest, SalesforceDestination)

    class ToFake(RetryingSession):
        def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
            url = str(url).replace("https://login.salesforce.com", crm.sf_server.url)
            kwargs["verify"] = tls_files[0]
            return super().request(method, url, *args, **kwargs)

    creds = SalesforceCredentials(username="sync@example.com", password="pw", security_token="tok")
    connector = SalesforceConnector(dest, creds, RetryPolicy(), session=ToFake(RetryPolicy()))
    assert connector.preflight(lambda c: set()) == []
    connector.close()
    bad = SalesforceCredentials(username="sync@example.com", password="wrong", security_token="tok")
    with pytest.raises(DestinationError, match="login failed"):
        SalesforceConnector(dest, bad, RetryPolicy(), session=ToFake(RetryPolicy()))


def test_retrying_session_gives_up_after_max_attempts() -> None:
    sleeps: list[float] = []
    session = RetryingSession(RetryPolicy(max_attempts=3, base_seconds=1, max_seconds=4), sleep=sleeps.append)
    with pytest.raises(requests.ConnectionError):
        session.get("http://127.0.0.1:9/nothing-listens-here", timeout=0.5)
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1 and 0 <= sleeps[1] <= 2


def test_leads_and_their_campaign_members(tmp_path: Path, warehouse: Warehouse, crm: Crm) -> None:
    from tests.sync.checks import SF_CUSTOM_FIELDS

    for meta in SF_CUSTOM_FIELDS:
        crm.sf._add_field("Lead", meta)
    config = sf_config(tmp_path, warehouse, crm)
    text = config.read_text().replace("object: Contact", "object: Lead")
    text = text.replace("      LastName: Customer\n", "      LastName: Customer\n      Company: Individual\n")
    config.write_text(text)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    leads = crm.sf.by_external_id("Lead", "Customer_Id__c")
    assert len(leads) == 60 and all(r["Company"] == "Individual" for r in leads.values())
    members = crm.sf.members()
    assert members and all(m.get("LeadId") and not m.get("ContactId") for m in members)
    assert run_cli(config, "run")[0] == EXIT_OK
    assert len(crm.sf.members()) == len(members)


def _log_in_with_a_password(monkeypatch: pytest.MonkeyPatch, crm: Crm) -> None:
    """Username/password credentials; simple-salesforce's SOAP login URL is pointed at the fake."""
    for name in ("SALESFORCE_ACCESS_TOKEN", "SALESFORCE_INSTANCE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SALESFORCE_USERNAME", crm.sf.username)
    monkeypatch.setenv("SALESFORCE_PASSWORD", crm.sf.password)
    monkeypatch.setenv("SALESFORCE_SECURITY_TOKEN", crm.sf.security_token)
    original = RetryingSession.request

    def to_fake(self: RetryingSession, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        return original(
            self, method, str(url).replace("https://login.salesforce.com", crm.sf_server.url), *args, **kwargs
        )

    monkeypatch.setattr(RetryingSession, "request", to_fake)


def test_an_expired_password_session_is_renewed_mid_run(
    tmp_path: Path, warehouse: Warehouse, crm: Crm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions time out during long runs: the sync logs in again and repeats the call, losing nothing."""
    seed_all(crm)
    crm.sf.unique_members = True  # as in a real org: a repeated CampaignMember insert answers DUPLICATE_VALUE
    crm.sf.session_lifetime_calls = 6
    _log_in_with_a_password(monkeypatch, crm)
    code, out = run_cli(sf_config(tmp_path, warehouse, crm), "run")
    assert code == EXIT_OK, out
    renewed = re.search(r"session expired and was renewed (\d+) time", out)
    assert renewed and int(renewed.group(1)) >= 2, out
    assert_salesforce_matches(warehouse, crm)
    assert_campaign_members(warehouse, crm)


def test_an_expired_access_token_stops_cleanly_and_the_next_run_catches_up(
    tmp_path: Path, warehouse: Warehouse, crm: Crm
) -> None:
    """A given token cannot be renewed here: the run says so, records nothing as sent, and a rerun completes."""
    seed_all(crm)
    config = sf_config(tmp_path, warehouse, crm)
    crm.sf.session_lifetime_calls = 2  # enough for the preflight, not for the Bulk job
    code, out = run_cli(config, "run")
    assert code == EXIT_FAILED
    assert "refresh SALESFORCE_ACCESS_TOKEN" in " ".join(out.split())
    assert crm.sf.by_external_id("Contact", "Customer_Id__c") == {}
    crm.sf.session_lifetime_calls = None
    crm.sf.sessions.add(crm.sf.access_token)
    code, out = run_cli(config, "run")
    assert code == EXIT_OK, out
    assert_salesforce_matches(warehouse, crm)
    assert_campaign_members(warehouse, crm)
