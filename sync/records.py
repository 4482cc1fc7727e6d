"""From warehouse rows to CRM payloads: keys, formatting, hashing, validation, diff queries.

A record's *hash* covers exactly what would be written to the CRM (field names
and formatted values, constants included), so changing the mapping, a segment
name or a confidence beyond the formatting precision marks the record changed,
and nothing else does. Floats are rounded before hashing: a model refit that
moves a confidence in the 8th decimal must not resend 100k contacts.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sync.config import Destination, Relation, WarehouseConfig
from sync.errors import WarehouseError
from sync.ledger import Ledger
from sync.warehouse import Warehouse

KEY_COL = "__sync_key"
PREV_HASH_COL = "__sync_prev_hash"
PREV_ID_COL = "__sync_prev_id"
CONTACT_ID_COL = "__sync_contact_id"

DECIMAL_PLACES = 4
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_email_key(dest: Destination) -> bool:
    """Whether the match key is an email address (normalised to lower case)."""
    return dest.match_key.field.lower() == "email" or dest.match_key.column.lower() == "email"


def key_expression(dest: Destination, column: str, string_type: str, alias: str = "s") -> str:
    """SQL for the match key as text, so SQL joins and Python agree by construction.

    An email is trimmed and lower-cased (CRMs match emails that way); any other key is
    opaque and goes out exactly as the warehouse holds it: ``' C042'`` stays ``' C042'``.
    """
    expr = f"CAST({alias}.{column} AS {string_type})"
    return f"LOWER(TRIM({expr}))" if is_email_key(dest) else expr


def format_value(value: Any) -> str | None:
    """Format a warehouse value the way the CRM expects it (``None`` = clear)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        rounded = round(value, DECIMAL_PLACES)
        if rounded == int(rounded) and abs(rounded) < 1e15:
            return str(int(rounded))
        return f"{rounded:.{DECIMAL_PLACES}f}".rstrip("0").rstrip(".")
    if isinstance(value, decimal.Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return str(int(value))
        return format_value(float(value))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text if text != "" else None


KEY_COLUMNS = frozenset({"customer_id", "order_id", "product_id"})
"""Identifier columns: opaque, so a field mapped from one carries the exact warehouse text."""


def format_field(column: str, value: Any) -> str | None:
    """A mapped column's CRM value: keys as the warehouse holds them, everything else by :func:`format_value`."""
    if column.lower() in KEY_COLUMNS and value is not None and not isinstance(value, float):
        return str(value)
    return format_value(value)


def payload_for(dest: Destination, row: Mapping[str, Any]) -> dict[str, str | None]:
    """CRM field -> formatted value for one warehouse row (without the match key)."""
    payload: dict[str, str | None] = {m.field: format_field(m.column, row.get(m.column.lower())) for m in dest.fields}
    payload.update(dest.constants)
    return payload


def value_hash(payload: Mapping[str, str | None]) -> str:
    """Stable hash of a payload (sorted keys, explicit nulls)."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def validate_key(dest: Destination, key: Any) -> str | None:
    """Why a normalised key cannot be sent, or ``None`` when it is fine."""
    if key is None or str(key).strip() == "":
        return f"match key column {dest.match_key.column} is null or empty"
    text = str(key)
    if is_email_key(dest) and not _EMAIL.match(text):
        return f"match key column {dest.match_key.column} is not an email address: {text!r}"
    if len(text) > 255:
        return f"match key column {dest.match_key.column} is longer than 255 characters"
    return None


@dataclass
class Candidate:
    """A warehouse row with its key, payload and ledger comparison."""

    key: str | None
    payload: dict[str, str | None]
    value_hash: str
    prev_hash: str | None
    prev_id: str | None
    invalid_reason: str | None = None

    @property
    def changed(self) -> bool:
        return self.prev_hash != self.value_hash

    @property
    def action(self) -> str:
        return "update" if self.prev_id or self.prev_hash else "create"


def check_columns(warehouse: Warehouse, relation: Relation, needed: Mapping[str, str]) -> dict[str, str]:
    """Fail with a message naming table, column and reason if a column is absent."""
    columns = warehouse.columns(relation)
    missing = [f"{col} (used by {why})" for col, why in needed.items() if col.lower() not in columns]
    if missing:
        raise WarehouseError(
            f"table {relation} is missing column(s): {', '.join(missing)}; it has: {', '.join(sorted(columns))}"
        )
    return columns


def contact_columns_needed(dest: Destination) -> dict[str, str]:
    needed = {dest.match_key.column: f"destination {dest.name} match_key"}
    for m in dest.fields:
        needed.setdefault(m.column, f"destination {dest.name} field {m.field}")
    return needed


def duplicate_keys(warehouse: Warehouse, wcfg: WarehouseConfig, dest: Destination) -> set[str]:
    """Normalised keys that appear on more than one row (all such rows are rejected)."""
    d = warehouse.dialect
    key = key_expression(dest, dest.match_key.column, d.string_type)
    rows = warehouse.query(
        f"SELECT {key} AS k FROM {d.relation(wcfg.segments_table)} s "
        f"WHERE s.{dest.match_key.column} IS NOT NULL "
        f"GROUP BY {key} HAVING COUNT(*) > 1"
    )
    return {str(r["k"]) for r in rows if r["k"] is not None}


def contact_candidates(
    warehouse: Warehouse,
    wcfg: WarehouseConfig,
    dest: Destination,
    ledger: Ledger | None,
    *,
    ignore_state: bool = False,
) -> Iterator[list[Candidate]]:
    """Stream the segments table joined to the ledger state, chunk by chunk.

    ``ledger`` is ``None`` when the ledger tables do not exist yet (a plan
    before the first run): every record is then a create.
    """
    d = warehouse.dialect
    lit = d.literal
    columns = sorted({dest.match_key.column, *(m.column for m in dest.fields)})
    select = ", ".join(f"s.{c}" for c in columns)
    key = key_expression(dest, dest.match_key.column, d.string_type)
    if ledger is not None and not ignore_state:
        sql = (
            f"SELECT {select}, {key} AS {KEY_COL}, st.value_hash AS {PREV_HASH_COL}, "
            f"st.destination_id AS {PREV_ID_COL} "
            f"FROM {d.relation(wcfg.segments_table)} s "
            f"LEFT JOIN {d.relation(ledger.state)} st ON st.destination = {lit(dest.name)} "
            f"AND st.record_type = 'contact' AND st.record_key = {key}"
        )
    else:
        sql = (
            f"SELECT {select}, {key} AS {KEY_COL}, CAST(NULL AS {d.string_type}) AS "
            f"{PREV_HASH_COL}, CAST(NULL AS {d.string_type}) AS {PREV_ID_COL} "
            f"FROM {d.relation(wcfg.segments_table)} s"
        )
    dupes = duplicate_keys(warehouse, wcfg, dest)
    for chunk in warehouse.stream(sql, wcfg.chunk_rows):
        out: list[Candidate] = []
        for raw in chunk:
            row = {k.lower(): v for k, v in raw.items()}
            key_value = row.get(KEY_COL.lower())
            key_text = None if key_value is None else str(key_value)
            payload = payload_for(dest, row)
            reason = validate_key(dest, key_text)
            if reason is None and key_text in dupes:
                reason = f"duplicate match key {key_text!r}: several rows of {wcfg.segments_table} share it"
            out.append(
                Candidate(
                    key=key_text,
                    payload=payload,
                    value_hash=value_hash(payload),
                    prev_hash=row.get(PREV_HASH_COL.lower()),
                    prev_id=row.get(PREV_ID_COL.lower()),
                    invalid_reason=reason,
                )
            )
        yield out


@dataclass
class TriggerCandidate:
    """A journey trigger not yet confirmed for a destination."""

    trigger_id: str
    journey: str
    customer_key: str | None
    is_control: bool
    contact_id: str | None
    prev_hash: str | None


def enrollment_hash(target_id: str) -> str:
    """State hash of an enrollment into ``target_id`` (a campaign or list)."""
    return "enrolled:" + target_id


CONTROL_HASH = "control"


def trigger_key_column(dest: Destination, wcfg: WarehouseConfig) -> str:
    """The triggers-table column holding the destination's match key."""
    cols = wcfg.trigger_columns
    if dest.match_key.column.lower() in ("email", cols.email.lower()):
        return cols.email
    if dest.match_key.column.lower() in ("customer_id", cols.customer_id.lower()):
        return cols.customer_id
    return dest.match_key.column


def trigger_candidates(
    warehouse: Warehouse,
    wcfg: WarehouseConfig,
    dest: Destination,
    ledger: Ledger | None,
    *,
    today: dt.date | None = None,
) -> Iterator[list[TriggerCandidate]]:
    """Stream triggers within the lookback window that are not yet done."""
    if wcfg.triggers_table is None:
        return
    d = warehouse.dialect
    lit = d.literal
    c = wcfg.trigger_columns
    key_col = trigger_key_column(dest, wcfg)
    key = key_expression(dest, key_col, d.string_type, alias="t")
    where = []
    if wcfg.trigger_lookback_days is not None:
        cutoff = (today or dt.date.today()) - dt.timedelta(days=wcfg.trigger_lookback_days)
        where.append(f"t.{c.triggered_on} >= {lit(cutoff)}")
    base = (
        f"SELECT CAST(t.{c.trigger_id} AS {d.string_type}) AS trigger_id, "
        f"CAST(t.{c.journey} AS {d.string_type}) AS journey, "
        f"t.{c.is_control} AS is_control, {key} AS {KEY_COL}"
    )
    if ledger is not None:
        done = [CONTROL_HASH, *(enrollment_hash(t) for t in dest.journeys.values())]
        sql = (
            f"{base}, es.value_hash AS {PREV_HASH_COL}, cs.destination_id AS {CONTACT_ID_COL} "
            f"FROM {d.relation(wcfg.triggers_table)} t "
            f"LEFT JOIN {d.relation(ledger.state)} es ON es.destination = {lit(dest.name)} "
            f"AND es.record_type = 'enrollment' "
            f"AND es.record_key = CAST(t.{c.trigger_id} AS {d.string_type}) "
            f"LEFT JOIN {d.relation(ledger.state)} cs ON cs.destination = {lit(dest.name)} "
            f"AND cs.record_type = 'contact' AND cs.record_key = {key}"
        )
        where.append(f"(es.value_hash IS NULL OR es.value_hash NOT IN ({', '.join(lit(h) for h in done)}))")
    else:
        sql = (
            f"{base}, CAST(NULL AS {d.string_type}) AS {PREV_HASH_COL}, "
            f"CAST(NULL AS {d.string_type}) AS {CONTACT_ID_COL} "
            f"FROM {d.relation(wcfg.triggers_table)} t"
        )
    if where:
        sql += " WHERE " + " AND ".join(where)
    for chunk in warehouse.stream(sql, wcfg.chunk_rows):
        out = []
        for raw in chunk:
            row = {k.lower(): v for k, v in raw.items()}
            key_value = row.get(KEY_COL.lower())
            out.append(
                TriggerCandidate(
                    trigger_id=str(row["trigger_id"]),
                    journey=str(row["journey"]),
                    customer_key=None if key_value is None else str(key_value),
                    is_control=bool(row.get("is_control")),
                    contact_id=row.get(CONTACT_ID_COL.lower()),
                    prev_hash=row.get(PREV_HASH_COL.lower()),
                )
            )
        yield out


def trigger_columns_needed(dest: Destination, wcfg: WarehouseConfig) -> dict[str, str]:
    c = wcfg.trigger_columns
    why = f"journey enrollment of destination {dest.name}"
    return {
        c.trigger_id: why,
        c.journey: why,
        c.is_control: why,
        c.triggered_on: why,
        trigger_key_column(dest, wcfg): f"{why} (match key)",
    }
