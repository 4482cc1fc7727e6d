"""Find and render the user's dbt profile, so the sync reads the warehouse dbt built.

The sync does not ask for a second set of warehouse credentials: it uses the
profile and target of the dbt project it runs in. Values are rendered like dbt
renders profiles: ``{{ env_var('X', 'default') }}``, the ``as_text``,
``as_number``, ``as_bool`` and ``as_native`` filters, Jinja filters such as
``| int``, and numbers/booleans turned into native values. Only the selected
target is rendered: other targets may reference variables that are not set.

Search order for ``profiles.yml`` follows dbt: the config's ``profiles_dir``,
then ``DBT_PROFILES_DIR``, then the project directory, then ``~/.dbt``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sync.config import WarehouseConfig
from sync.errors import ConfigError
from sync.secrets import REDACTOR

# Profile keys whose values are secrets; they are registered for redaction.
_SECRET_KEYS = (
    "password",
    "token",
    "private_key",
    "private_key_passphrase",
    "keyfile_json",
    "client_secret",
    "refresh_token",
    "motherduck_token",
    "access_token",
)


@dataclass(frozen=True)
class ResolvedTarget:
    """A rendered dbt output: adapter type and its settings, plus where it came from."""

    profile: str
    target: str
    adapter_type: str
    settings: Mapping[str, Any]
    profiles_path: Path
    project_dir: Path

    def describe(self) -> str:
        """Human-readable origin, without any setting values (they may be secret)."""
        return f"dbt profile {self.profile!r}, target {self.target!r} ({self.adapter_type}) from {self.profiles_path}"


def _project_profile_name(project_dir: Path) -> str | None:
    project_file = project_dir / "dbt_project.yml"
    if not project_file.exists():
        return None
    try:
        data = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{project_file}: not valid YAML: {exc}") from exc
    profile = data.get("profile") if isinstance(data, Mapping) else None
    return str(profile) if profile else None


def find_profiles_file(config: WarehouseConfig, environ: Mapping[str, str] | None = None) -> Path:
    """Locate ``profiles.yml`` in dbt's search order; error lists where it looked."""
    env = os.environ if environ is None else environ
    project_dir = Path(config.project_dir)
    candidates: list[Path] = []
    if config.profiles_dir:
        candidates.append(Path(config.profiles_dir).expanduser() / "profiles.yml")
    elif env.get("DBT_PROFILES_DIR"):
        candidates.append(Path(env["DBT_PROFILES_DIR"]).expanduser() / "profiles.yml")
    else:
        candidates.append(project_dir / "profiles.yml")
        candidates.append(Path("~/.dbt").expanduser() / "profiles.yml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise ConfigError(
        f"no dbt profiles.yml found (looked in {looked}); copy profiles.yml.example to "
        "profiles.yml or set warehouse.profiles_dir"
    )


class _Undefined(Exception):
    """An ``env_var()`` without default named a variable that is not set."""


def _env_var(name: str, default: Any = None) -> Any:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise _Undefined(name)
        return default
    if name.startswith("DBT_ENV_SECRET"):
        REDACTOR.register(value)
    return value


def _as_bool(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _as_number(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return value
    return value


class _Text(str):
    """Marks a value that ``as_text`` asked to keep a string."""


def _render_value(value: str) -> Any:
    """Render one profile string the way dbt does: Jinja, then native types.

    Like dbt's renderer, a result that reads as a number or boolean becomes one
    (``port: "{{ env_var('PGPORT') }}"`` gives an int) unless ``| as_text``.
    Implemented here with Jinja instead of importing dbt's renderer because
    that import costs seconds on every CLI start.
    """
    import ast

    from jinja2 import StrictUndefined
    from jinja2.nativetypes import NativeEnvironment

    if "{{" not in value and "{%" not in value:
        return value
    env = NativeEnvironment(undefined=StrictUndefined)
    env.globals["env_var"] = _env_var
    env.filters.update(as_text=lambda v: _Text(str(v)), as_bool=_as_bool, as_number=_as_number, as_native=lambda v: v)
    try:
        template = env.from_string(value)
        pieces = list(template.root_render_func(template.new_context({})))
    except _Undefined as exc:
        raise ConfigError(
            f"the dbt profile uses env_var('{exc.args[0]}') but that environment variable "
            "is not set (and has no default)"
        ) from None
    except Exception as exc:  # a Jinja syntax or runtime error in the profile
        raise ConfigError(f"could not render a dbt profile value: {REDACTOR.redact(exc)}") from None
    if len(pieces) == 1 and not isinstance(pieces[0], str | _Text):
        return pieces[0]  # a filter such as | int produced a native value
    if len(pieces) == 1 and isinstance(pieces[0], _Text):
        return str(pieces[0])
    text = "".join(str(p) for p in pieces)
    try:
        native = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return native if isinstance(native, bool | int | float) else text


def _render(data: Any) -> Any:
    """Render Jinja in every string of ``data`` (recursively)."""
    if isinstance(data, str):
        return _render_value(data)
    if isinstance(data, Mapping):
        return {k: _render(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_render(v) for v in data]
    return data


def _register_secrets(settings: Mapping[str, Any]) -> None:
    for key, value in settings.items():
        if isinstance(value, Mapping):
            _register_secrets(value)
        elif isinstance(value, str) and any(s in key.lower() for s in _SECRET_KEYS):
            REDACTOR.register(value)


def resolve_target(config: WarehouseConfig, environ: Mapping[str, str] | None = None) -> ResolvedTarget:
    """Return the rendered output the sync should connect to."""
    project_dir = Path(config.project_dir).resolve()
    profile_name = config.profile or _project_profile_name(project_dir)
    if not profile_name:
        raise ConfigError(
            f"no dbt profile name: set warehouse.profile in the sync config or run from a "
            f"dbt project (no dbt_project.yml with a 'profile' key in {project_dir})"
        )
    path = find_profiles_file(config, environ)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping) or profile_name not in raw:
        known = ", ".join(k for k in raw if k != "config") if isinstance(raw, Mapping) else ""
        raise ConfigError(f"{path}: no profile named {profile_name!r} (found: {known or 'none'})")
    profile = raw[profile_name]
    if not isinstance(profile, Mapping) or not isinstance(profile.get("outputs"), Mapping):
        raise ConfigError(f"{path}: profile {profile_name!r} has no 'outputs' mapping")
    target = config.target or str(_render(profile.get("target", "default")))
    outputs = profile["outputs"]
    if target not in outputs:
        raise ConfigError(f"{path}: profile {profile_name!r} has no target {target!r} (targets: {', '.join(outputs)})")
    settings = _render(dict(outputs[target]))
    if not isinstance(settings, Mapping) or "type" not in settings:
        raise ConfigError(f"{path}: target {target!r} of profile {profile_name!r} has no 'type'")
    _register_secrets(settings)
    return ResolvedTarget(
        profile=profile_name,
        target=target,
        adapter_type=str(settings["type"]),
        settings=settings,
        profiles_path=path,
        project_dir=project_dir,
    )
