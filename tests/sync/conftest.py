"""Fixtures for the sync tests: a fixture warehouse, both CRM fakes, a config.

The warehouse is a DuckDB file with ``main.customer_segments`` and
``main.journey_triggers`` built to the contract in DESIGN.md (the real models
are built elsewhere; these tests must not depend on them). The fakes run in
this process on 127.0.0.1 so their state survives a killed sync subprocess.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sync.secrets import REDACTOR
from tests.sync.fakes.hubspot import FakeHubSpot
from tests.sync.fakes.openapi import OpenApiContract, spec_dir
from tests.sync.fakes.salesforce import FakeSalesforce
from tests.sync.fakes.server import FakeServer
from tests.sync.fakes.tls import make_certificate

REPO_ROOT = Path(__file__).resolve().parents[2]
SF_TOKEN = "00DSFSECRET!sessiontoken-abc123"
HS_TOKEN = "pat-na1-HSSECRET-0f9e8d7c"
VALUE_SEGMENTS = ["Champions", "Loyal", "Promising", "At Risk", "Hibernating"]
BEHAVIORAL = ["Bargain hunters", "Brand loyal", "Explorers"]
CHANNEL = ["Web first", "Store first", "Omnichannel"]
RFM = ["Champions", "Loyal", "Potential Loyalist", "At Risk", "Lost"]
TODAY = dt.date.today()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    REDACTOR.clear()


# -- warehouse fixtures ----------------------------------------------------------------


def segment_row(i: int, version: int = 0) -> dict[str, Any]:
    """Deterministic segments of customer ``i``; ``version`` shifts their segments."""
    rng = random.Random(i * 7919 + version * 104729)
    v = (i + version) % len(VALUE_SEGMENTS)
    return {
        "customer_id": i,
        "email": f"Customer{i}@Example.com",
        "value_segment_id": v + 1,
        "value_segment": VALUE_SEGMENTS[v],
        "value_confidence": round(rng.uniform(0.5, 1.0), 6),
        "behavioral_segment_id": i % 3 + 1,
        "behavioral_segment": BEHAVIORAL[i % 3],
        "behavioral_confidence": round(rng.uniform(0.3, 1.0), 6),
        "channel_segment_id": None if i % 11 == 0 else i % 3 + 1,
        "channel_segment": None if i % 11 == 0 else CHANNEL[i % 3],
        "channel_confidence": None if i % 11 == 0 else 0.75,
        "rfm_segment": RFM[(i + version) % len(RFM)],
        "value_previous_segment": None,
        "value_segment_since": dt.date(2024, 1, 1),
        "as_of_date": dt.date(2024, 6, 1),
    }


SEGMENTS_DDL = """
CREATE SCHEMA IF NOT EXISTS main;
CREATE OR REPLACE TABLE main.customer_segments (
    customer_id BIGINT, email VARCHAR,
    value_segment_id INTEGER, value_segment VARCHAR, value_confidence DOUBLE,
    behavioral_segment_id INTEGER, behavioral_segment VARCHAR, behavioral_confidence DOUBLE,
    channel_segment_id INTEGER, channel_segment VARCHAR, channel_confidence DOUBLE,
    rfm_segment VARCHAR, value_previous_segment VARCHAR, value_segment_since DATE, as_of_date DATE
);
CREATE OR REPLACE TABLE main.journey_triggers (
    trigger_id VARCHAR, customer_id BIGINT, email VARCHAR, journey VARCHAR,
    triggered_on DATE, reason VARCHAR, is_control BOOLEAN
);
"""


def trigger_id(customer_id: int, journey: str, day: dt.date) -> str:
    return hashlib.md5(f"{customer_id}|{journey}|{day}".encode()).hexdigest()


def trigger_rows(n: int, *, every: int = 4, day: dt.date | None = None) -> list[tuple[Any, ...]]:
    """Triggers for every ``every``-th customer: winback or upsell, 1 in 5 in control."""
    day = day or TODAY - dt.timedelta(days=1)
    rows = []
    for i in range(1, n + 1, every):
        journey = "winback" if i % 2 else "upsell"
        rows.append(
            (trigger_id(i, journey, day), i, f"Customer{i}@Example.com", journey, day, f"{journey} rule", i % 5 == 0)
        )
    return rows


@dataclass
class Warehouse:
    path: Path
    n: int

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path), read_only=read_only)

    def write_segments(self, rows: list[dict[str, Any]]) -> None:
        con = self.connect()
        try:
            con.execute("DELETE FROM main.customer_segments")
            cols = list(rows[0])
            import pyarrow as pa

            table = pa.Table.from_pylist(rows)
            con.register("new_rows", table)
            con.execute(
                f"INSERT INTO main.customer_segments ({', '.join(cols)}) SELECT {', '.join(cols)} FROM new_rows"
            )
        finally:
            con.close()

    def _dicts(self, sql: str) -> list[dict[str, Any]]:
        con = self.connect(read_only=True)
        try:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        finally:
            con.close()

    def rows(self) -> list[dict[str, Any]]:
        return self._dicts("SELECT * FROM main.customer_segments ORDER BY customer_id")

    def add_triggers(self, rows: list[tuple[Any, ...]]) -> None:
        con = self.connect()
        try:
            con.executemany("INSERT INTO main.journey_triggers VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        finally:
            con.close()

    def triggers(self) -> list[dict[str, Any]]:
        return self._dicts("SELECT * FROM main.journey_triggers")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        con = self.connect(read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def build_warehouse(path: Path, n: int, *, triggers_every: int = 4) -> Warehouse:
    con = duckdb.connect(str(path))
    try:
        con.execute(SEGMENTS_DDL)
    finally:
        con.close()
    wh = Warehouse(path, n)
    wh.write_segments([segment_row(i) for i in range(1, n + 1)])
    if triggers_every:
        wh.add_triggers(trigger_rows(n, every=triggers_every))
    return wh


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return build_warehouse(tmp_path / "warehouse.duckdb", 60)


# -- CRM fakes -------------------------------------------------------------------------


@dataclass
class Crm:
    sf: FakeSalesforce
    sf_server: FakeServer
    hs: FakeHubSpot
    hs_server: FakeServer
    campaigns: dict[str, str]
    lists: dict[str, str]
    contract: OpenApiContract | None


def start_crm(
    tls_files: tuple[str, str],
    *,
    validate: bool = False,
    hs_per_ten_seconds: int | None = None,
    hs_daily: int | None = None,
    unique_members: bool = False,
) -> Crm:
    contract = None
    if validate:
        directory = spec_dir(REPO_ROOT)
        if directory.is_dir():
            contract = OpenApiContract(directory)
    sf = FakeSalesforce(access_token=SF_TOKEN, unique_members=unique_members)
    sf_server = FakeServer(sf, tls=tls_files).start()
    sf.base_url = sf_server.url
    hs = FakeHubSpot(
        access_token=HS_TOKEN, per_ten_seconds=hs_per_ten_seconds, daily_limit=hs_daily, validator=contract
    )
    hs_server = FakeServer(hs).start()
    campaigns = {"winback": sf.create_campaign("Win-back"), "upsell": sf.create_campaign("Upsell")}
    lists = {"winback": hs.create_list("Win-back"), "upsell": hs.create_list("Upsell")}
    return Crm(sf, sf_server, hs, hs_server, campaigns, lists, contract)


@pytest.fixture
def crm(tls_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Crm]:
    fakes = start_crm(tls_files)
    set_env(monkeypatch, fakes, tls_files)
    yield fakes
    fakes.sf_server.stop()
    fakes.hs_server.stop()


def set_env(monkeypatch: pytest.MonkeyPatch, fakes: Crm, tls_files: tuple[str, str]) -> None:
    for name in ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", SF_TOKEN)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", fakes.sf_server.url)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", HS_TOKEN)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_files[0])
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)


def child_env(fakes: Crm, tls_files: tuple[str, str]) -> dict[str, str]:
    """Environment for a sync subprocess talking to the fakes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "HUBSPOT_", "DBT_"))}
    env.update(
        {
            "SALESFORCE_ACCESS_TOKEN": SF_TOKEN,
            "SALESFORCE_INSTANCE_URL": fakes.sf_server.url,
            "HUBSPOT_ACCESS_TOKEN": HS_TOKEN,
            "REQUESTS_CA_BUNDLE": tls_files[0],
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    return env


# -- config ------------------------------------------------------------------------------


def write_config(
    directory: Path,
    warehouse: Warehouse,
    crm: Crm,
    *,
    destinations: tuple[str, ...] = ("salesforce", "hubspot"),
    hubspot_extra: str = "",
    salesforce_extra: str = "",
    retry_base: float = 0.01,
    lookback: str = "30",
    sf_fields: Mapping[str, str] | None = None,
    hs_fields: Mapping[str, str] | None = None,
) -> Path:
    """Write profiles.yml and sync.yml in ``directory``; return the sync.yml path.

    ``sf_fields`` and ``hs_fields`` (CRM field -> warehouse column) default to
    SF_FIELDS and HS_FIELDS.
    """

    def field_lines(fields: Mapping[str, str]) -> str:
        return "\n".join(f"{' ' * 16}{column}: {field}" for field, column in fields.items())

    sf_field_lines = field_lines(SF_FIELDS if sf_fields is None else sf_fields)
    hs_field_lines = field_lines(HS_FIELDS if hs_fields is None else hs_fields)
    (directory / "profiles.yml").write_text(
        textwrap.dedent(f"""\
        segments:
          target: "{{{{ env_var('SEGMENTS_TARGET', 'duckdb') }}}}"
          outputs:
            duckdb:
              type: duckdb
              path: "{{{{ env_var('SYNC_TEST_DUCKDB', '{warehouse.path}') }}}}"
              schema: main
              threads: 1
        """)
    )
    parts = [
        textwrap.dedent(f"""\
        warehouse:
          profile: segments
          profiles_dir: {directory}
          chunk_rows: 1000
          trigger_lookback_days: {lookback}
        retry:
          max_attempts: 6
          base_seconds: {retry_base}
          max_seconds: 0.2
        destinations:
        """)
    ]
    if "salesforce" in destinations:
        parts.append(
            textwrap.indent(
                textwrap.dedent(f"""\
            - name: salesforce
              type: salesforce
              object: Contact
              bulk_poll_seconds: 0
              match_key:
                column: customer_id
                field: Customer_Id__c
              fields:
{sf_field_lines}
              constants:
                LastName: Customer
              journeys:
                winback: {crm.campaigns["winback"]}
                upsell: {crm.campaigns["upsell"]}
            """)
                + textwrap.indent(salesforce_extra, "  "),
                "  ",
            )
        )
    if "hubspot" in destinations:
        parts.append(
            textwrap.indent(
                textwrap.dedent(f"""\
            - name: hubspot
              type: hubspot
              api_base_url: {crm.hs_server.url}
              match_key:
                column: email
                property: email
              fields:
{hs_field_lines}
              journeys:
                winback: "{crm.lists["winback"]}"
                upsell: "{crm.lists["upsell"]}"
            """)
                + textwrap.indent(hubspot_extra, "  "),
                "  ",
            )
        )
    path = directory / "sync.yml"
    path.write_text("".join(parts))
    return path


SF_FIELDS = {
    "Email": "email",
    "Value_Segment__c": "value_segment",
    "Value_Confidence__c": "value_confidence",
    "Behavioral_Segment__c": "behavioral_segment",
    "Channel_Segment__c": "channel_segment",
    "RFM_Segment__c": "rfm_segment",
    "Segments_As_Of__c": "as_of_date",
}
HS_FIELDS = {
    "value_segment": "value_segment",
    "value_confidence": "value_confidence",
    "behavioral_segment": "behavioral_segment",
    "channel_segment": "channel_segment",
    "rfm_segment": "rfm_segment",
    "segments_as_of": "as_of_date",
}
