"""Secrets come from the environment only and never reach output, logs or the ledger."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from sync.errors import MissingSecretError
from sync.secrets import (
    REDACTOR,
    RedactingFilter,
    clean_error,
    hubspot_credentials,
    redact,
    salesforce_credentials,
)
from tests.sync.checks import seed_all
from tests.sync.conftest import (
    HS_TOKEN,
    REPO_ROOT,
    SF_TOKEN,
    Crm,
    Warehouse,
    child_env,
    write_config,
)
from tests.sync.test_end_to_end import run_cli


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SALESFORCE_ACCESS_TOKEN"),
        ({"SALESFORCE_ACCESS_TOKEN": "x" * 20}, "SALESFORCE_INSTANCE_URL"),
        ({"SALESFORCE_USERNAME": "u"}, "SALESFORCE_PASSWORD"),
        ({"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p"}, "SALESFORCE_SECURITY_TOKEN"),
    ],
)
def test_missing_salesforce_variable_is_named(env: dict[str, str], missing: str) -> None:
    with pytest.raises(MissingSecretError) as info:
        salesforce_credentials(env)
    assert info.value.variable == missing
    assert missing in str(info.value)


def test_credentials_are_read_and_hidden() -> None:
    creds = salesforce_credentials(
        {
            "SALESFORCE_USERNAME": "u@example.com",
            "SALESFORCE_PASSWORD": "hunter2-password",
            "SALESFORCE_SECURITY_TOKEN": "TOKEN123456",
            "SALESFORCE_DOMAIN": "test",
        }
    )
    assert creds.domain == "test" and not creds.uses_session
    assert "hunter2" not in repr(creds) and "TOKEN123456" not in repr(creds)
    assert redact("login hunter2-passwordTOKEN123456 failed") == "login *** failed"
    with pytest.raises(MissingSecretError, match="HUBSPOT_ACCESS_TOKEN"):
        hubspot_credentials({})
    hs = hubspot_credentials({"HUBSPOT_ACCESS_TOKEN": "pat-eu1-abcdefgh"})
    assert "pat-eu1" not in repr(hs)
    assert redact("Bearer pat-eu1-abcdefgh and pat-eu1%2Dabcdefgh") == "Bearer *** and pat-eu1%2Dabcdefgh"


def test_log_filter_redacts_arguments_and_tracebacks() -> None:
    REDACTOR.register("s3cr3t-value")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token=%s", ("s3cr3t-value",), None)
    try:
        raise ValueError("boom s3cr3t-value")
    except ValueError:
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert record.getMessage() == "token=***"
    assert "s3cr3t-value" not in (record.exc_text or "") and "***" in (record.exc_text or "")


def test_clean_error_is_one_redacted_line_cut_on_request() -> None:
    REDACTOR.register("s3cr3t-value")
    exc = RuntimeError("bad\n   request  with\ts3cr3t-value " + "x" * 2000)
    assert clean_error(exc).startswith("bad request with *** xxx")
    assert len(clean_error(exc)) == len("bad request with *** ") + 2000
    assert clean_error(exc, 1000) == clean_error(exc)[:1000]


def test_missing_token_in_cli_gives_clear_error(
    tmp_path: Path, warehouse: Warehouse, crm: Crm, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_all(crm)
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    config = write_config(tmp_path, warehouse, crm, destinations=("hubspot",))
    code, out = run_cli(config, "run")
    assert code == 1
    assert "HUBSPOT_ACCESS_TOKEN" in out and "is not set" in out
    # The failed run is in the ledger with the same message.
    assert "HUBSPOT_ACCESS_TOKEN" in str(warehouse.query("SELECT message FROM segments_sync.sync_runs"))


def test_no_secret_in_output_logs_or_ledger(
    tmp_path: Path, warehouse: Warehouse, crm: Crm, tls_files: tuple[str, str]
) -> None:
    """A real subprocess with -vv debug logging, and CRMs that echo the token back."""
    seed_all(crm)
    crm.hs.echo_token_in_errors = True
    crm.hs.input_failure = lambda item: "blocked" if item["id"].startswith("customer3@") else None
    crm.sf.row_failure = lambda obj, row: (
        f"INVALID_SESSION_ID: {SF_TOKEN} is not valid here:--" if row.get("Customer_Id__c") == "3" else None
    )
    config = write_config(tmp_path, warehouse, crm)
    env = child_env(crm, tls_files)
    outputs = []
    for args in (["-vv", "run"], ["status"], ["-vv", "plan"]):
        proc = subprocess.run(
            [sys.executable, "-m", "sync", "--config", str(config), *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        outputs.append(proc.stdout + proc.stderr)
        if args[-1] == "run":
            assert proc.returncode == 1, proc.stdout + proc.stderr  # customer 3 failed
    text = "\n".join(outputs)
    assert "blocked (request authorization: Bearer ***)" in text  # the echo was redacted
    assert "DEBUG" in text  # debug logging really was on
    con = duckdb.connect(str(warehouse.path), read_only=True)
    try:
        for (table,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'segments_sync'"
        ).fetchall():
            rows = con.execute(f"SELECT * FROM segments_sync.{table}").fetchall()
            text += "\n" + "\n".join(str(r) for r in rows)
    finally:
        con.close()
    for secret in (SF_TOKEN, HS_TOKEN, SF_TOKEN.split("!")[1], HS_TOKEN[8:]):
        assert secret not in text, f"secret leaked: {secret[:6]}…"
