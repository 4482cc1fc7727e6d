"""The sync configuration file (YAML): destinations, mappings, journeys, limits.

Everything a marketer or analytics engineer tunes lives here; nothing secret
does (see :mod:`sync.secrets`). Loading validates the whole file up front and
every error names the key path that is wrong, e.g.
``destinations[1].match_key.field: required``, so a misconfiguration fails in
``segments sync plan`` rather than halfway through a run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from sync.errors import ConfigError

DEFAULT_CONFIG_PATH = "sync.yml"

FieldType = Literal["auto", "text", "enumeration", "number", "decimal", "date", "boolean"]
FIELD_TYPES: tuple[str, ...] = ("auto", "text", "enumeration", "number", "decimal", "date", "boolean")

# HubSpot burst (per 10 s) and daily limits for private apps, by account tier.
# Source: HubSpot's API usage guidelines and the "Increasing our API limits"
# changelog. They change over time, so every number can be overridden.
HUBSPOT_TIERS: dict[str, tuple[int, int]] = {
    "free": (100, 250_000),
    "starter": (100, 250_000),
    "professional": (190, 650_000),
    "enterprise": (190, 1_000_000),
    "api_limit_increase": (250, 2_000_000),
}

_SF_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
_SF_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_HS_PROPERTY = re.compile(r"^[a-z][a-z0-9_]*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclass(frozen=True)
class Relation:
    """A warehouse table named by up to three parts: database, schema, table."""

    parts: tuple[str, ...]

    @property
    def table(self) -> str:
        return self.parts[-1]

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for 5xx answers and dropped connections: exponential with full jitter."""

    max_attempts: int = 6
    base_seconds: float = 0.5
    max_seconds: float = 30.0


@dataclass(frozen=True)
class FieldMapping:
    """One warehouse column written to one CRM field."""

    column: str
    field: str
    type: FieldType = "auto"
    label: str | None = None


@dataclass(frozen=True)
class MatchKey:
    """Which warehouse column identifies the CRM record, and through which CRM field."""

    column: str
    field: str


@dataclass(frozen=True)
class RateLimit:
    """HubSpot request budget. ``budget_share`` leaves room for other integrations."""

    tier: str = "starter"
    requests_per_10s: int = 100
    daily_limit: int = 250_000
    budget_share: float = 1.0
    window_margin_seconds: float = 0.25

    @property
    def effective_per_window(self) -> int:
        return max(1, int(self.requests_per_10s * self.budget_share))


@dataclass(frozen=True)
class Destination:
    """Settings common to every destination."""

    name: str
    type: Literal["salesforce", "hubspot"]
    object: str
    match_key: MatchKey
    fields: tuple[FieldMapping, ...]
    journeys: Mapping[str, str]
    constants: Mapping[str, str]
    enabled: bool = True

    @property
    def mapped_fields(self) -> tuple[str, ...]:
        return tuple(m.field for m in self.fields) + tuple(self.constants)


@dataclass(frozen=True)
class SalesforceDestination(Destination):
    """Salesforce Contact or Lead, upserted with Bulk API 2.0 on an external-ID field."""

    api_version: str = "59.0"
    bulk_poll_seconds: float = 2.0
    campaign_member_status: str | None = None
    soql_in_chunk: int = 200


@dataclass(frozen=True)
class HubSpotDestination(Destination):
    """HubSpot contacts, upserted in batches of at most 100 by email or a unique property."""

    api_base_url: str = "https://api.hubapi.com"
    property_group: str = "customer_segments"
    property_group_label: str = "Customer segments"
    batch_size: int = 100
    list_batch_size: int = 1000
    auto_add_options: bool = True
    rate_limit: RateLimit = field(default_factory=RateLimit)
    request_timeout_seconds: float = 60.0


@dataclass(frozen=True)
class TriggerColumns:
    """Column names of the journey-trigger table (defaults follow DESIGN.md)."""

    trigger_id: str = "trigger_id"
    customer_id: str = "customer_id"
    email: str = "email"
    journey: str = "journey"
    triggered_on: str = "triggered_on"
    is_control: str = "is_control"


@dataclass(frozen=True)
class WarehouseConfig:
    """Where to read segments and triggers and where to keep the ledger."""

    profile: str | None = None
    target: str | None = None
    profiles_dir: str | None = None
    project_dir: str = "."
    method: Literal["auto", "duckdb", "dbt"] = "auto"
    chunk_rows: int = 10_000
    segments_table: Relation = Relation(("main", "customer_segments"))
    triggers_table: Relation | None = Relation(("main", "journey_triggers"))
    trigger_columns: TriggerColumns = field(default_factory=TriggerColumns)
    trigger_lookback_days: int | None = 30
    ledger_schema: str = "segments_sync"


@dataclass(frozen=True)
class SyncConfig:
    """The whole configuration file."""

    warehouse: WarehouseConfig
    destinations: tuple[Destination, ...]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sample_size: int = 5
    source_path: Path | None = None

    def destination(self, name: str) -> Destination:
        for dest in self.destinations:
            if dest.name == name:
                return dest
        known = ", ".join(d.name for d in self.destinations)
        raise ConfigError(f"no destination named {name!r} in the config (known: {known})")

    def selected(self, names: tuple[str, ...] | list[str] | None) -> list[Destination]:
        """Destinations to act on: the named ones, else every enabled one."""
        if names:
            return [self.destination(n) for n in names]
        return [d for d in self.destinations if d.enabled]


class _Reader:
    """Typed access to a YAML mapping that reports errors with their key path."""

    def __init__(self, data: Any, path: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path or 'config'}: expected a mapping, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.path = path
        self.seen: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return self.data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self.data

    def get_str(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.raw(key)
        if value is None:
            if required:
                raise ConfigError(f"{self._key(key)}: required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{self._key(key)}: expected a string, got {type(value).__name__}")
        text = str(value).strip()
        if required and not text:
            raise ConfigError(f"{self._key(key)}: must not be empty")
        return text

    def req_str(self, key: str) -> str:
        value = self.get_str(key, required=True)
        assert value is not None
        return value

    def get_int(self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self._key(key)}: expected an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{self._key(key)}: must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{self._key(key)}: must be at most {maximum}, got {value}")
        return value

    def get_float(
        self, key: str, default: float, *, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self._key(key)}: expected a number, got {value!r}")
        number = float(value)
        if minimum is not None and number < minimum:
            raise ConfigError(f"{self._key(key)}: must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ConfigError(f"{self._key(key)}: must be at most {maximum}, got {number}")
        return number

    def get_bool(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(f"{self._key(key)}: expected true or false, got {value!r}")
        return value

    def child(self, key: str) -> _Reader:
        return _Reader(self.raw(key), self._key(key))

    def finish(self) -> None:
        """Reject unknown keys: a typo must not silently fall back to a default."""
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(f"{self.path or 'config'}: unknown key(s) {', '.join(unknown)}")


def parse_relation(text: str, where: str) -> Relation:
    """Parse ``table``, ``schema.table`` or ``database.schema.table``."""
    parts = tuple(p.strip() for p in text.split("."))
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise ConfigError(f"{where}: expected [database.]schema.table, got {text!r}")
    if len(parts) == 1:
        parts = ("main", parts[0])
    for part in parts:
        if not _IDENT.match(part):
            raise ConfigError(f"{where}: {part!r} is not a plain identifier")
    return Relation(parts)


def _parse_retry(reader: _Reader) -> RetryPolicy:
    policy = RetryPolicy(
        max_attempts=reader.get_int("max_attempts", 6, minimum=1, maximum=50),
        base_seconds=reader.get_float("base_seconds", 0.5, minimum=0.0),
        max_seconds=reader.get_float("max_seconds", 30.0, minimum=0.0),
    )
    reader.finish()
    return policy


def _parse_warehouse(reader: _Reader) -> WarehouseConfig:
    method = reader.get_str("method", "auto")
    if method not in ("auto", "duckdb", "dbt"):
        raise ConfigError(f"warehouse.method: must be auto, duckdb or dbt, got {method!r}")
    segments = parse_relation(
        reader.get_str("segments_table", "main.customer_segments") or "", "warehouse.segments_table"
    )
    triggers_raw = reader.raw("triggers_table", "main.journey_triggers")
    triggers = (
        None if triggers_raw in (None, False, "") else parse_relation(str(triggers_raw), "warehouse.triggers_table")
    )
    cols_reader = reader.child("trigger_columns")
    defaults = TriggerColumns()
    columns = TriggerColumns(
        **{
            name: cols_reader.get_str(name, getattr(defaults, name)) or getattr(defaults, name)
            for name in TriggerColumns.__dataclass_fields__
        }
    )
    cols_reader.finish()
    lookback_raw = reader.raw("trigger_lookback_days", 30)
    if lookback_raw is not None and (
        isinstance(lookback_raw, bool) or not isinstance(lookback_raw, int) or lookback_raw < 0
    ):
        raise ConfigError("warehouse.trigger_lookback_days: expected a non-negative integer or null (no limit)")
    ledger_schema = reader.get_str("ledger_schema", "segments_sync") or "segments_sync"
    if not _IDENT.match(ledger_schema):
        raise ConfigError(f"warehouse.ledger_schema: {ledger_schema!r} is not a plain identifier")
    config = WarehouseConfig(
        profile=reader.get_str("profile"),
        target=reader.get_str("target"),
        profiles_dir=reader.get_str("profiles_dir"),
        project_dir=reader.get_str("project_dir", ".") or ".",
        method=method,  # type: ignore[arg-type]
        chunk_rows=reader.get_int("chunk_rows", 10_000, minimum=100, maximum=1_000_000),
        segments_table=segments,
        triggers_table=triggers,
        trigger_columns=columns,
        trigger_lookback_days=lookback_raw,
        ledger_schema=ledger_schema,
    )
    reader.finish()
    return config


def _parse_fields(reader: _Reader, key: str, kind: str) -> tuple[FieldMapping, ...]:
    raw = reader.raw(key)
    where = f"{reader.path}.{key}"
    if raw is None:
        raise ConfigError(f"{where}: required (map warehouse columns to CRM fields)")
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where}: expected a non-empty mapping of column: field")
    mappings: list[FieldMapping] = []
    for column, spec in raw.items():
        col = str(column)
        if not _IDENT.match(col):
            raise ConfigError(f"{where}.{col}: {col!r} is not a plain column name")
        if isinstance(spec, str):
            target, ftype, label = spec, "auto", None
        elif isinstance(spec, Mapping):
            sub = _Reader(spec, f"{where}.{col}")
            target = sub.req_str("field")
            ftype = sub.get_str("type", "auto") or "auto"
            label = sub.get_str("label")
            sub.finish()
        else:
            raise ConfigError(f"{where}.{col}: expected a field name or a mapping with 'field'")
        if ftype not in FIELD_TYPES:
            raise ConfigError(f"{where}.{col}.type: must be one of {', '.join(FIELD_TYPES)}, got {ftype!r}")
        _check_field_name(target, kind, f"{where}.{col}")
        mappings.append(FieldMapping(column=col, field=target, type=ftype, label=label))  # type: ignore[arg-type]
    targets = [m.field.lower() for m in mappings]
    dupes = sorted({t for t in targets if targets.count(t) > 1})
    if dupes:
        raise ConfigError(f"{where}: several columns write the same field(s) {', '.join(dupes)}")
    return tuple(mappings)


def _check_field_name(name: str, kind: str, where: str) -> None:
    if kind == "salesforce" and not _SF_FIELD.match(name):
        raise ConfigError(f"{where}: {name!r} is not a valid Salesforce field API name")
    if kind == "hubspot" and not _HS_PROPERTY.match(name):
        raise ConfigError(
            f"{where}: {name!r} is not a valid HubSpot property name "
            "(lowercase letters, digits and underscores, starting with a letter)"
        )


def _parse_journeys(reader: _Reader, kind: str) -> dict[str, str]:
    raw = reader.raw("journeys") or {}
    where = f"{reader.path}.journeys"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of journey: {kind} id")
    journeys: dict[str, str] = {}
    for journey, target in raw.items():
        if target is None or isinstance(target, bool):
            raise ConfigError(f"{where}.{journey}: expected an id")
        value = str(target).strip()
        if kind == "salesforce" and not _SF_ID.match(value):
            raise ConfigError(f"{where}.{journey}: {value!r} is not a Salesforce Campaign ID (15 or 18 characters)")
        if kind == "hubspot" and not value.isdigit():
            raise ConfigError(f"{where}.{journey}: {value!r} is not a HubSpot list ID (digits)")
        journeys[str(journey)] = value
    return journeys


def _parse_constants(reader: _Reader, kind: str) -> dict[str, str]:
    raw = reader.raw("constants") or {}
    where = f"{reader.path}.constants"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of field: value")
    out: dict[str, str] = {}
    for name, value in raw.items():
        _check_field_name(str(name), kind, f"{where}.{name}")
        if value is None or isinstance(value, Mapping | list):
            raise ConfigError(f"{where}.{name}: expected a plain value")
        out[str(name)] = str(value)
    return out


def _parse_rate_limit(reader: _Reader) -> RateLimit:
    tier = reader.get_str("tier", "starter") or "starter"
    if tier not in HUBSPOT_TIERS:
        raise ConfigError(f"{reader.path}.tier: must be one of {', '.join(HUBSPOT_TIERS)}, got {tier!r}")
    burst, daily = HUBSPOT_TIERS[tier]
    limit = RateLimit(
        tier=tier,
        requests_per_10s=reader.get_int("requests_per_10s", burst, minimum=1),
        daily_limit=reader.get_int("daily_limit", daily, minimum=1),
        budget_share=reader.get_float("budget_share", 1.0, minimum=0.01, maximum=1.0),
        window_margin_seconds=reader.get_float("window_margin_seconds", 0.25, minimum=0.0),
    )
    reader.finish()
    return limit


def _parse_destination(reader: _Reader) -> Destination:
    name = reader.req_str("name")
    if not _NAME.match(name):
        raise ConfigError(f"{reader.path}.name: use letters, digits, '_' or '-', got {name!r}")
    kind = reader.req_str("type").lower()
    if kind not in ("salesforce", "hubspot"):
        raise ConfigError(f"{reader.path}.type: must be salesforce or hubspot, got {kind!r}")
    if reader.raw("match_key") is None:
        raise ConfigError(f"{reader.path}.match_key: required")
    key_reader = reader.child("match_key")
    key_field_name = "field" if kind == "salesforce" else "property"
    key_column = key_reader.req_str("column")
    key_field = key_reader.get_str(key_field_name) or key_reader.get_str("field")
    if key_field is None:
        raise ConfigError(f"{reader.path}.match_key.{key_field_name}: required")
    key_reader.finish()
    _check_field_name(key_field, kind, f"{reader.path}.match_key")
    match_key = MatchKey(column=key_column, field=key_field)
    fields = _parse_fields(reader, "fields", kind)
    if any(m.field.lower() == key_field.lower() for m in fields):
        raise ConfigError(f"{reader.path}.fields: {key_field} is the match key; it is written automatically")
    journeys = _parse_journeys(reader, kind)
    constants = _parse_constants(reader, kind)
    enabled = reader.get_bool("enabled", True)
    common: dict[str, Any] = dict(
        name=name,
        type=kind,
        match_key=match_key,
        fields=fields,
        journeys=journeys,
        constants=constants,
        enabled=enabled,
    )
    if kind == "salesforce":
        obj = reader.get_str("object", "Contact") or "Contact"
        if obj not in ("Contact", "Lead"):
            raise ConfigError(f"{reader.path}.object: must be Contact or Lead, got {obj!r}")
        version = reader.get_str("api_version", "59.0") or "59.0"
        if not re.match(r"^\d+\.\d$", version):
            raise ConfigError(f"{reader.path}.api_version: expected e.g. 59.0, got {version!r}")
        dest: Destination = SalesforceDestination(
            object=obj,
            api_version=version,
            bulk_poll_seconds=reader.get_float("bulk_poll_seconds", 2.0, minimum=0.0),
            campaign_member_status=reader.get_str("campaign_member_status"),
            soql_in_chunk=reader.get_int("soql_in_chunk", 200, minimum=1, maximum=1000),
            **common,
        )
    else:
        obj = reader.get_str("object", "contacts") or "contacts"
        if obj != "contacts":
            raise ConfigError(f"{reader.path}.object: only 'contacts' is supported, got {obj!r}")
        group = reader.get_str("property_group", "customer_segments") or "customer_segments"
        _check_field_name(group, "hubspot", f"{reader.path}.property_group")
        base_url = (reader.get_str("api_base_url", "https://api.hubapi.com") or "").rstrip("/")
        if not base_url.startswith(("https://", "http://")):
            raise ConfigError(f"{reader.path}.api_base_url: expected a URL, got {base_url!r}")
        dest = HubSpotDestination(
            object=obj,
            api_base_url=base_url,
            property_group=group,
            property_group_label=reader.get_str("property_group_label", "Customer segments") or "Customer segments",
            batch_size=reader.get_int("batch_size", 100, minimum=1, maximum=100),
            list_batch_size=reader.get_int("list_batch_size", 1000, minimum=1, maximum=100_000),
            auto_add_options=reader.get_bool("auto_add_options", True),
            rate_limit=_parse_rate_limit(reader.child("rate_limit")),
            request_timeout_seconds=reader.get_float("request_timeout_seconds", 60.0, minimum=1.0),
            **common,
        )
    reader.finish()
    return dest


def parse_config(data: Any, source_path: Path | None = None) -> SyncConfig:
    """Validate a parsed YAML document and build a :class:`SyncConfig`."""
    root = _Reader(data, "")
    warehouse = _parse_warehouse(root.child("warehouse"))
    raw_dests = root.raw("destinations")
    if not isinstance(raw_dests, list) or not raw_dests:
        raise ConfigError("destinations: required, a list with at least one destination")
    destinations = tuple(_parse_destination(_Reader(item, f"destinations[{i}]")) for i, item in enumerate(raw_dests))
    names = [d.name for d in destinations]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"destinations: duplicate name(s) {', '.join(dupes)}")
    retry = _parse_retry(root.child("retry"))
    sample_size = root.get_int("sample_size", 5, minimum=0, maximum=100)
    root.finish()
    return SyncConfig(
        warehouse=warehouse,
        destinations=destinations,
        retry=retry,
        sample_size=sample_size,
        source_path=source_path,
    )


def load_config(path: str | Path = DEFAULT_CONFIG_PATH) -> SyncConfig:
    """Read and validate the YAML config at ``path``."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {p} not found: copy sync.example.yml to {p} and edit it, or pass --config")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    return parse_config(data, source_path=p.resolve())
