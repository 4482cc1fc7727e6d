"""Assertions shared by the sync tests: the CRM fakes hold what the warehouse says."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sync.records import format_value
from tests.sync.conftest import HS_FIELDS, SF_FIELDS, TODAY, Crm, Warehouse

SF_CUSTOM_FIELDS = [
    {"name": "Customer_Id__c", "type": "string", "externalId": True, "unique": True},
    {"name": "Value_Segment__c", "type": "string"},
    {"name": "Value_Confidence__c", "type": "double"},
    {"name": "Behavioral_Segment__c", "type": "string"},
    {"name": "Channel_Segment__c", "type": "string"},
    {"name": "RFM_Segment__c", "type": "string"},
    {"name": "Segments_As_Of__c", "type": "date"},
]


def seed_salesforce_fields(crm: Crm) -> None:
    """What `segments sync setup` would create (tests of setup check that separately)."""
    for meta in SF_CUSTOM_FIELDS:
        crm.sf._add_field("Contact", meta)


def seed_hubspot_properties(crm: Crm, options: dict[str, list[str]] | None = None) -> None:
    hs = crm.hs
    hs.groups["customer_segments"] = {
        "name": "customer_segments",
        "label": "Customer segments",
        "displayOrder": -1,
        "archived": False,
    }
    from tests.sync.conftest import BEHAVIORAL, CHANNEL, RFM, VALUE_SEGMENTS

    opts = options or {
        "value_segment": VALUE_SEGMENTS,
        "behavioral_segment": BEHAVIORAL,
        "channel_segment": CHANNEL,
        "rfm_segment": RFM,
    }
    for name in HS_FIELDS:
        if name in opts:
            spec = {
                "name": name,
                "label": name,
                "type": "enumeration",
                "fieldType": "select",
                "groupName": "customer_segments",
                "options": [{"label": v, "value": v} for v in opts[name]],
            }
        elif name == "segments_as_of":
            spec = {"name": name, "label": name, "type": "date", "fieldType": "date", "groupName": "customer_segments"}
        else:
            spec = {
                "name": name,
                "label": name,
                "type": "number",
                "fieldType": "number",
                "groupName": "customer_segments",
            }
        hs.properties[name] = hs._property(spec)


def seed_all(crm: Crm) -> None:
    seed_salesforce_fields(crm)
    seed_hubspot_properties(crm)


def assert_salesforce_matches(wh: Warehouse, crm: Crm) -> None:
    contacts = crm.sf.by_external_id("Contact", "Customer_Id__c")
    rows = wh.rows()
    assert len(contacts) == len(rows), f"{len(contacts)} contacts for {len(rows)} customers"
    for row in rows:
        record = contacts.get(str(row["customer_id"]))
        assert record is not None, f"customer {row['customer_id']} missing in Salesforce"
        for field, column in SF_FIELDS.items():
            expected = format_value(row[column])
            assert record.get(field) == expected, (
                f"customer {row['customer_id']}: Salesforce {field}={record.get(field)!r}, "
                f"warehouse {column}={expected!r}"
            )


def assert_hubspot_matches(wh: Warehouse, crm: Crm) -> None:
    rows = wh.rows()
    assert len(crm.hs.contacts) == len(rows)
    for row in rows:
        contact = crm.hs.contact_by("email", row["email"])
        assert contact is not None, f"{row['email']} missing in HubSpot"
        props = contact["properties"]
        for prop, column in HS_FIELDS.items():
            expected = format_value(row[column])
            assert props.get(prop) == expected, (
                f"{row['email']}: HubSpot {prop}={props.get(prop)!r}, warehouse {expected!r}"
            )


def expected_enrollments(wh: Warehouse, lookback_days: int = 30) -> dict[str, set[Any]]:
    """journey -> customer ids that must be enrolled (non-control, within lookback)."""
    out: dict[str, set[Any]] = {}
    cutoff = TODAY - dt.timedelta(days=lookback_days)
    for t in wh.triggers():
        if t["is_control"] or t["triggered_on"] < cutoff:
            continue
        out.setdefault(t["journey"], set()).add(t["customer_id"])
    return out


def assert_campaign_members(wh: Warehouse, crm: Crm) -> None:
    expected = expected_enrollments(wh)
    contacts = crm.sf.by_external_id("Contact", "Customer_Id__c")
    members = crm.sf.members()
    pairs = Counter((m["CampaignId"], m["ContactId"]) for m in members)
    duplicated = {p: n for p, n in pairs.items() if n > 1}
    assert not duplicated, f"duplicated campaign members: {duplicated}"
    want = set()
    for journey, customers in expected.items():
        for cid in customers:
            want.add((crm.campaigns[journey], contacts[str(cid)]["Id"]))
    assert set(pairs) == want, f"missing {len(want - set(pairs))}, unexpected {len(set(pairs) - want)}"


def assert_list_members(wh: Warehouse, crm: Crm) -> None:
    expected = expected_enrollments(wh)
    for journey, list_id in crm.lists.items():
        want = set()
        for cid in expected.get(journey, set()):
            contact = crm.hs.contact_by("email", f"customer{cid}@example.com")
            assert contact is not None
            want.add(contact["id"])
        assert set(crm.hs.list_members[list_id]) == want, journey


def assert_everything_synced(wh: Warehouse, crm: Crm) -> None:
    assert_salesforce_matches(wh, crm)
    assert_hubspot_matches(wh, crm)
    assert_campaign_members(wh, crm)
    assert_list_members(wh, crm)
