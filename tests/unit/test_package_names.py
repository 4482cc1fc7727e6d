"""Every name the package brings into a host project is prefixed or a documented public output.

Installed as a dbt package, this project shares one namespace of relations with the
host (and of macros and generic tests with dbt_utils, dbt_date and the like). The
convention (README, "Use it as a dbt package"):

- macros and generic tests: ``segments_<name>``, adapter variants ``<adapter>__segments_<name>``;
- staging models ``stg_segments__<name>``, intermediate models ``int_segments__<name>``,
  every other internal model (per-view helpers) and every seed ``segments__<name>``;
- the public outputs keep their documented names (below, and documented in README/docs).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.dbt_harness import REPO_ROOT

PUBLIC_OUTPUTS = {
    "customer_rfm",
    "customer_product_affinity",
    "customer_channel_features",
    "customer_features",
    "data_quality",
    "segment_assignments",
    "customer_segments",
    "segment_models",
    "segment_profiles",
    "segment_catalog",
    "segment_history",
    "segment_history_dates",
    "segment_migrations",
    "segment_transitions",
    "segment_stay_rates",
    "segment_transition_reconciliation",
    "segment_drift",
    "segment_drift_reference",
    "segment_drift_status",
    "journey_triggers",
    "journey_summary",
}
RELATION_PREFIXES = ("stg_segments__", "int_segments__", "segments__")
# Macros whose names dbt itself looks up: generate_schema_name (dbt uses a package's own
# for that package's nodes, macros/schemas.sql) and the Spark seed loader override.
DBT_HOOK_MACROS = {"generate_schema_name", "spark__load_csv_rows"}
MACRO = re.compile(r"\{%-?\s*(macro|test)\s+([A-Za-z0-9_]+)\s*\(")


def _relations() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, suffixes in (("models", (".sql", ".py")), ("python_models", (".sql", ".py")), ("seeds", (".csv",))):
        for path in (REPO_ROOT / folder).rglob("*"):
            if path.suffix in suffixes:
                assert path.stem not in found, f"two relations named {path.stem}"
                found[path.stem] = path
    for folder in ("snapshots", "analyses"):
        assert not list((REPO_ROOT / folder).rglob("*.sql")), f"{folder}/ is not covered by this test"
    return found


def _macros() -> list[tuple[str, str, Path]]:
    return [
        (kind, name, path)
        for path in (REPO_ROOT / "macros").rglob("*.sql")
        for kind, name in MACRO.findall(path.read_text())
    ]


def test_every_relation_is_prefixed_or_a_public_output() -> None:
    relations = _relations()
    assert len(relations) > 40
    odd = {
        name: str(path.relative_to(REPO_ROOT))
        for name, path in relations.items()
        if not name.startswith(RELATION_PREFIXES) and name not in PUBLIC_OUTPUTS
    }
    assert odd == {}, "name these with the package's prefix, or document them as public outputs"
    assert set(relations) >= PUBLIC_OUTPUTS, PUBLIC_OUTPUTS - set(relations)


def test_public_outputs_are_documented() -> None:
    docs = (REPO_ROOT / "README.md").read_text() + "".join(p.read_text() for p in (REPO_ROOT / "docs").glob("*.md"))
    undocumented = {name for name in PUBLIC_OUTPUTS if f"`{name}`" not in docs}
    assert undocumented == set()


def test_every_macro_and_generic_test_carries_the_prefix() -> None:
    macros = _macros()
    assert len(macros) > 50 and any(kind == "test" for kind, _, _ in macros)
    odd = [
        f"{kind} {name} ({path.relative_to(REPO_ROOT)})"
        for kind, name, path in macros
        if name not in DBT_HOOK_MACROS and not re.fullmatch(r"([a-z]+__)?segments_[a-z0-9_]+", name)
    ]
    assert odd == []


def test_generic_tests_in_yaml_are_the_prefixed_ones() -> None:
    generic = {name for kind, name, _ in _macros() if kind == "test"}
    bare = {name.removeprefix("segments_") for name in generic}
    used = [
        f"{path.relative_to(REPO_ROOT)}: {match}"
        for path in [
            *REPO_ROOT.glob("models/**/*.yml"),
            *REPO_ROOT.glob("python_models/*.yml"),
            *REPO_ROOT.glob("seeds/*.yml"),
        ]
        for match in re.findall(r"^\s*-\s+([a-z_]+):", path.read_text(), flags=re.M)
        if match in bare
    ]
    assert used == []


def test_every_ref_inside_the_package_names_the_package() -> None:
    """A one-argument ref() from a package resolves to the root project's node first, so a host
    model of the same name would capture it; only the host's own input models are one-argument."""
    one_argument = re.compile(r"\bref\(\s*(['\"])[^'\"]+\1\s*(\)|~)")
    found = [
        f"{path.relative_to(REPO_ROOT)}: {match.group(0)}"
        for folder in ("models", "python_models", "macros", "tests/dbt")
        for path in (REPO_ROOT / folder).rglob("*")
        if path.suffix in (".sql", ".py", ".yml")
        for match in one_argument.finditer(path.read_text())
    ]
    assert found == []
