"""Config parsing: the documented example loads, and mistakes name their key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sync.config import (
    HubSpotDestination,
    SalesforceDestination,
    load_config,
    parse_config,
)
from sync.errors import ConfigError
from tests.sync.conftest import REPO_ROOT


def minimal(**overrides: Any) -> dict[str, Any]:
    dest = {
        "name": "hs",
        "type": "hubspot",
        "match_key": {"column": "email", "property": "email"},
        "fields": {"value_segment": "value_segment"},
    }
    dest.update(overrides)
    return {"destinations": [dest]}


def test_example_config_is_valid_and_documents_both_crms() -> None:
    config = load_config(REPO_ROOT / "sync.example.yml")
    kinds = {type(d) for d in config.destinations}
    assert kinds == {SalesforceDestination, HubSpotDestination}
    hs = next(d for d in config.destinations if isinstance(d, HubSpotDestination))
    assert hs.rate_limit.requests_per_10s == 100  # starter tier
    text = (REPO_ROOT / "sync.example.yml").read_text()
    for variable in (
        "SALESFORCE_ACCESS_TOKEN",
        "SALESFORCE_INSTANCE_URL",
        "SALESFORCE_USERNAME",
        "SALESFORCE_PASSWORD",
        "SALESFORCE_SECURITY_TOKEN",
        "HUBSPOT_ACCESS_TOKEN",
    ):
        assert variable in text


def test_defaults() -> None:
    config = parse_config(minimal())
    assert str(config.warehouse.segments_table) == "main.customer_segments"
    assert str(config.warehouse.triggers_table) == "main.journey_triggers"
    assert config.warehouse.ledger_schema == "segments_sync"
    dest = config.destinations[0]
    assert isinstance(dest, HubSpotDestination)
    assert dest.batch_size == 100 and dest.rate_limit.tier == "starter"


def test_tiers_and_overrides() -> None:
    config = parse_config(minimal(rate_limit={"tier": "professional", "budget_share": 0.5}))
    dest = config.destinations[0]
    assert isinstance(dest, HubSpotDestination)
    assert dest.rate_limit.requests_per_10s == 190
    assert dest.rate_limit.effective_per_window == 95
    config = parse_config(minimal(rate_limit={"requests_per_10s": 40}))
    dest = config.destinations[0]
    assert isinstance(dest, HubSpotDestination)
    assert dest.rate_limit.requests_per_10s == 40


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "destinations: required"),
        (minimal(type="marketo"), "destinations[0].type: must be salesforce or hubspot"),
        (minimal(match_key=None), "destinations[0].match_key: required"),
        (minimal(match_key={"column": "email"}), "destinations[0].match_key.property: required"),
        (minimal(fields={}), "destinations[0].fields: expected a non-empty mapping"),
        (minimal(fields={"value_segment": "Value Segment"}), "not a valid HubSpot property"),
        (minimal(fields={"a": "x", "b": "x"}), "several columns write the same field"),
        (minimal(fields={"email": "email"}), "is the match key"),
        (minimal(batch_size=250), "batch_size: must be at most 100"),
        (minimal(journeys={"winback": "abc"}), "journeys.winback: 'abc' is not a HubSpot list ID"),
        (minimal(rate_limit={"tier": "gold"}), "rate_limit.tier: must be one of"),
        (minimal(fields={"x; drop table": "x"}), "not a plain column name"),
        (minimal(api_key="secret"), "destinations[0]: unknown key(s) api_key"),
        ({**minimal(), "warehouse": {"segments_table": "a.b.c.d"}}, "warehouse.segments_table"),
        ({**minimal(), "warehouse": {"ledger_schema": "x-y"}}, "warehouse.ledger_schema"),
        ({**minimal(), "retry": {"max_attempts": 0}}, "retry.max_attempts: must be at least 1"),
        ({"destinations": [minimal()["destinations"][0]] * 2}, "duplicate name(s) hs"),
        (
            {
                "destinations": [
                    {
                        "name": "sf",
                        "type": "salesforce",
                        "object": "Account",
                        "match_key": {"column": "customer_id", "field": "Ext__c"},
                        "fields": {"a": "A__c"},
                    }
                ]
            },
            "object: must be Contact or Lead",
        ),
        (
            {
                "destinations": [
                    {
                        "name": "sf",
                        "type": "salesforce",
                        "match_key": {"column": "customer_id", "field": "Ext__c"},
                        "fields": {"a": "A__c"},
                        "journeys": {"w": "123"},
                    }
                ]
            },
            "is not a Salesforce Campaign ID",
        ),
    ],
)
def test_errors_name_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert message in str(info.value)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sync\.example\.yml"):
        load_config(tmp_path / "sync.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("destinations: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_full_field_spec_and_constants() -> None:
    data = {
        "destinations": [
            {
                "name": "sf",
                "type": "salesforce",
                "object": "Lead",
                "match_key": {"column": "customer_id", "field": "Customer_Id__c"},
                "fields": {
                    "value_confidence": {"field": "Value_Confidence__c", "type": "decimal", "label": "Value confidence"}
                },
                "constants": {"Company": "Individual", "LastName": "Customer"},
                "journeys": {"winback": "701000000000001"},
            }
        ]
    }
    dest = parse_config(yaml.safe_load(yaml.safe_dump(data))).destinations[0]
    assert isinstance(dest, SalesforceDestination)
    assert dest.fields[0].type == "decimal" and dest.fields[0].label == "Value confidence"
    assert dest.mapped_fields == ("Value_Confidence__c", "Company", "LastName")
