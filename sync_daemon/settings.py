"""The ``[crm]`` and ``[sync]`` tables of the kiosk's configuration, for kiosk-sync.

kiosk-sync reads the same TOML file as the kiosk but imports nothing from it, so it
reads these two tables itself and leaves the others to the kiosk. ``KIOSK_CRM_URL`` and
``KIOSK_CRM_API_KEY`` override the file.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from sync_daemon.model import EngineSettings

APP_NAME = "booth-kiosk"
CRM_KEYS = {"url": str, "api_key": str, "operator_email": str, "timeout_s": float}
# The keys the kiosk accepts in [sync]; the engine's other settings keep defaults.
SYNC_KEYS = {
    "batch_size": int,
    "lease_s": float,
    "backoff_base_s": float,
    "backoff_cap_s": float,
    "rate_limit_per_minute": int,
    "idle_poll_s": float,
}
TYPE_NAMES = {str: "a string", int: "an integer", float: "a number"}


class SettingsError(ValueError):
    """The configuration file or environment contains an invalid value."""


@dataclass(frozen=True)
class CrmConfig:
    """CRM location and credentials; ``repr`` hides the API key and operator."""

    url: str = ""
    api_key: str = ""
    operator_email: str = ""
    timeout_s: float = 10.0

    def __repr__(self) -> str:
        return (
            f"CrmConfig(url={self.url!r}, api_key=<hidden>, "
            f"operator_email=<hidden>, timeout_s={self.timeout_s})"
        )


@dataclass(frozen=True)
class DaemonConfig:
    """Everything kiosk-sync takes from the configuration file and environment."""

    crm: CrmConfig
    sync: EngineSettings
    source: Path | None = None


def default_config_path() -> Path:
    """Return ``config.toml`` in the user config folder, where the kiosk looks too."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_db_url() -> str:
    """Return the URL of the kiosk's database in the user data folder."""
    folder = Path(platformdirs.user_data_dir(APP_NAME))
    return f"sqlite:///{folder / 'leads.sqlite3'}"


def load_daemon_config(
    path: str | Path | None, environ: Mapping[str, str] | None = None
) -> DaemonConfig:
    """Read ``[crm]`` and ``[sync]`` from ``path`` (or the default file, if present).

    Raises:
        SettingsError: a named file is missing or is not UTF-8, or the TOML is
            invalid. A key in ``[crm]`` or ``[sync]`` is unknown, has the wrong type
            or is out of range. The lease is not longer than the HTTP timeout.
    """
    environ = os.environ if environ is None else environ
    source: Path | None
    if path is None:
        candidate = default_config_path()
        source = candidate if candidate.is_file() else None
    else:
        source = Path(path)
        if not source.is_file():
            raise SettingsError(
                f"Configuration file not found: {source}. Check the path."
            )
    data = _read(source) if source else {}
    where = f" in {source}" if source else ""
    crm = CrmConfig(**_section(data, "crm", CRM_KEYS))
    if crm.timeout_s <= 0:
        raise SettingsError(
            f"[crm] timeout_s{where} must be a positive number of seconds, got "
            f"{crm.timeout_s:g}."
        )
    crm = replace(
        crm,
        url=environ.get("KIOSK_CRM_URL", crm.url),
        api_key=environ.get("KIOSK_CRM_API_KEY", crm.api_key),
    )
    sync_values = _section(data, "sync", SYNC_KEYS)
    try:
        sync = EngineSettings(**sync_values)
    except ValueError as exc:
        raise SettingsError(f"[sync]{where}: {exc}.") from exc
    check_lease(sync.lease_s, crm.timeout_s)
    return DaemonConfig(crm=crm, sync=sync, source=source)


def check_lease(lease_s: float, timeout_s: float) -> None:
    """Raise unless a lease of ``lease_s`` outlasts an HTTP timeout of ``timeout_s``.

    A claimed batch stays reserved for one lease. When the lease ended before the
    HTTP request could time out, another process could claim the same rows while
    they are still in flight.

    Raises:
        SettingsError: ``lease_s`` is not longer than ``timeout_s``.
    """
    if lease_s <= timeout_s:
        raise SettingsError(
            f"[sync] lease_s ({lease_s:g} s) must be longer than [crm] timeout_s "
            f"({timeout_s:g} s), because a lease covers the whole HTTP request of "
            "its batch. Raise lease_s or lower timeout_s."
        )


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}. Fix the file.") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}). Save it "
            "as UTF-8."
        ) from exc
    except OSError as exc:
        raise SettingsError(f"Cannot read configuration file {path}: {exc}.") from exc


def _section(data: dict[str, Any], name: str, known: dict[str, type]) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise SettingsError(f"[{name}] must be a table in the configuration file.")
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise SettingsError(
            f"Unknown key(s) {', '.join(unknown)} in [{name}]; "
            f"accepted: {', '.join(sorted(known))}."
        )
    values: dict[str, Any] = {}
    for key, value in table.items():
        expected = known[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, expected):
            raise SettingsError(
                f"[{name}] {key} must be {TYPE_NAMES[expected]}, got {value!r}."
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(f"[{name}] {key} must be a finite number, got {value}.")
        values[key] = value
    return values
