"""The kiosk's configuration: one optional TOML file plus a few environment variables.

Every key is optional. The file is ``--config FILE`` when given, else ``config.toml`` in
the platform's user config folder. ``KIOSK_CRM_URL`` and ``KIOSK_CRM_API_KEY`` override
the ``[crm]`` table. Unknown keys are rejected so a typo does not pass silently.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from kiosk.errors import ConfigError

APP_NAME = "booth-kiosk"

LAYOUT_COLUMNS = frozenset(
    {
        "badge_id", "first_name", "last_name", "middle_name", "name", "email", "phone",
        "company", "title", "department", "website", "linkedin_url", "notes",
        "event_code", "ignore",
    }
)  # fmt: skip
QUESTION_KINDS = ("yes_no", "choice", "text")


@dataclass(frozen=True)
class BadgeLayout:
    """An event's delimited badge: the delimiter and the field of each column."""

    delimiter: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class BadgeHost:
    """A registration host whose URLs carry an attendee id (and maybe an event)."""

    host: str
    id_param: str
    event_param: str = ""


@dataclass(frozen=True)
class Question:
    """A qualifying question shown on the form: yes/no, a choice, or short text."""

    key: str
    label: str
    kind: str = "yes_no"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaptureSettings:
    default_region: str = "US"
    width: int = 1280
    height: int = 720
    fps: int = 30
    mirror_preview: bool = True
    debounce_s: float = 2.0


@dataclass(frozen=True)
class CrmSettings:
    url: str = ""
    api_key: str = ""
    operator_email: str = ""
    timeout_s: float = 10.0


@dataclass(frozen=True)
class SyncSettings:
    batch_size: int = 100
    lease_s: float = 30.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    rate_limit_per_minute: int = 90
    idle_poll_s: float = 2.0


@dataclass(frozen=True)
class KioskSettings:
    event: str = ""
    self_service: bool = False
    idle_clear_s: float = 30.0
    consent_text: str = "I agree that the exhibitor may contact me about its products."
    consent_version: str = "v1"
    stale_alert_minutes: float = 15.0
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Config:
    """The whole configuration with defaults filled in."""

    capture: CaptureSettings = field(default_factory=CaptureSettings)
    crm: CrmSettings = field(default_factory=CrmSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    kiosk: KioskSettings = field(default_factory=KioskSettings)
    badge_layouts: tuple[BadgeLayout, ...] = ()
    badge_hosts: tuple[BadgeHost, ...] = ()
    source: Path | None = None


def user_data_dir() -> Path:
    """Return the platform's data folder for the kiosk, created if missing."""
    path = Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_config_path() -> Path:
    """Return ``config.toml`` in the platform's user config folder."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_db_url() -> str:
    """Return the SQLAlchemy URL of the kiosk's database in the user data folder."""
    return f"sqlite:///{user_data_dir() / 'leads.sqlite3'}"


def load_config(path: str | Path | None = None) -> Config:
    """Load the configuration file, or the defaults when there is none.

    Args:
        path: the ``--config`` value; ``None`` reads the default location if it exists.

    Raises:
        ConfigError: the file is missing (when named), not valid UTF-8 TOML, or has a
            bad value.
    """
    if path is None:
        candidate = default_config_path()
        data = _read_toml(candidate) if candidate.exists() else {}
        source = candidate if candidate.exists() else None
    else:
        source = Path(path)
        if not source.exists():
            raise ConfigError(
                f"Configuration file not found: {source}. Check the path."
            )
        data = _read_toml(source)
    return parse_config(data, source=source, environ=os.environ)


def parse_config(
    data: dict[str, Any],
    *,
    source: Path | None = None,
    environ: dict[str, str] | os._Environ[str] | None = None,
) -> Config:
    """Build a :class:`Config` from parsed TOML data and the environment."""
    environ = {} if environ is None else environ
    _reject_unknown(data, {"capture", "crm", "sync", "kiosk", "badges"}, "top level")
    badges = _table(data, "badges")
    _reject_unknown(badges, {"layouts", "hosts"}, "[badges]")
    crm = _section(CrmSettings, _table(data, "crm"), "crm")
    crm = CrmSettings(
        url=environ.get("KIOSK_CRM_URL", crm.url),
        api_key=environ.get("KIOSK_CRM_API_KEY", crm.api_key),
        operator_email=crm.operator_email,
        timeout_s=crm.timeout_s,
    )
    capture = _section(CaptureSettings, _table(data, "capture"), "capture")
    sync = _section(SyncSettings, _table(data, "sync"), "sync")
    _check_ranges(capture, crm, sync)
    return Config(
        capture=capture,
        crm=crm,
        sync=sync,
        kiosk=_kiosk_settings(_table(data, "kiosk")),
        badge_layouts=tuple(_layout(item) for item in badges.get("layouts", [])),
        badge_hosts=tuple(_host(item) for item in badges.get("hosts", [])),
        source=source,
    )


def _check_ranges(
    capture: CaptureSettings, crm: CrmSettings, sync: SyncSettings
) -> None:
    positive = {
        "[capture] width": capture.width,
        "[capture] height": capture.height,
        "[capture] fps": capture.fps,
        "[crm] timeout_s": crm.timeout_s,
        "[sync] lease_s": sync.lease_s,
        "[sync] backoff_base_s": sync.backoff_base_s,
        "[sync] backoff_cap_s": sync.backoff_cap_s,
        "[sync] idle_poll_s": sync.idle_poll_s,
    }
    for name, value in positive.items():
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{name} must be a positive number, got {value!r}.")
    if capture.debounce_s < 0 or not math.isfinite(capture.debounce_s):
        raise ConfigError(
            f"[capture] debounce_s must be 0 or more: {capture.debounce_s}"
        )
    if not 1 <= sync.batch_size <= 100:
        raise ConfigError(
            f"[sync] batch_size must be from 1 to 100 (AcmeCRM's bulk limit), "
            f"got {sync.batch_size}."
        )
    if sync.rate_limit_per_minute < 0:
        raise ConfigError(
            "[sync] rate_limit_per_minute must be 0 (no limit) or more, "
            f"got {sync.rate_limit_per_minute}."
        )
    if sync.lease_s <= crm.timeout_s:
        raise ConfigError(
            f"[sync] lease_s ({sync.lease_s}) must be longer than [crm] timeout_s "
            f"({crm.timeout_s}), so a batch's lease outlasts its HTTP request."
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text. Save it as UTF-8.") from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read configuration file {path}: {exc}.") from exc


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table in the configuration file.")
    return value


def _reject_unknown(data: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"Unknown configuration key(s) {', '.join(unknown)} in {where}; "
            f"accepted: {', '.join(sorted(known))}."
        )


def _section(cls: Any, table: dict[str, Any], name: str) -> Any:
    defaults = cls()
    _reject_unknown(table, set(defaults.__dataclass_fields__), f"[{name}]")
    values = {}
    for key, value in table.items():
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (
            expected is not bool and isinstance(value, bool)
        ):
            raise ConfigError(
                f"[{name}] {key} must be a {expected.__name__}, got {value!r}."
            )
        values[key] = value
    return cls(**values)


def _kiosk_settings(table: dict[str, Any]) -> KioskSettings:
    table = dict(table)
    questions = table.pop("questions", [])
    settings = _section(KioskSettings, table, "kiosk")
    if not isinstance(questions, list):
        raise ConfigError("[kiosk] questions must be a list of tables.")
    parsed = tuple(_question(item) for item in questions)
    return KioskSettings(**{**settings.__dict__, "questions": parsed})


def _question(item: Any) -> Question:
    if not isinstance(item, dict) or "key" not in item or "label" not in item:
        raise ConfigError("Each [[kiosk.questions]] entry needs a key and a label.")
    kind = item.get("kind", "yes_no")
    if kind not in QUESTION_KINDS:
        raise ConfigError(
            f"Question {item['key']!r} has kind {kind!r}; "
            f"accepted: {', '.join(QUESTION_KINDS)}."
        )
    choices = tuple(str(choice) for choice in item.get("choices", []))
    if kind == "choice" and not choices:
        raise ConfigError(f"Question {item['key']!r} is a choice but lists no choices.")
    return Question(str(item["key"]), str(item["label"]), kind, choices)


def _layout(item: Any) -> BadgeLayout:
    if not isinstance(item, dict) or "delimiter" not in item or "columns" not in item:
        raise ConfigError(
            "Each [[badges.layouts]] entry needs a delimiter and columns."
        )
    columns = tuple(str(column) for column in item["columns"])
    unknown = sorted(set(columns) - LAYOUT_COLUMNS)
    if unknown:
        raise ConfigError(
            f"Badge layout column(s) {', '.join(unknown)} are not contact fields; "
            f"accepted: {', '.join(sorted(LAYOUT_COLUMNS))}."
        )
    delimiter = str(item["delimiter"])
    if len(delimiter) != 1:
        raise ConfigError(
            f"Badge layout delimiter must be one character: {delimiter!r}."
        )
    return BadgeLayout(delimiter, columns)


def _host(item: Any) -> BadgeHost:
    if not isinstance(item, dict) or "host" not in item or "id_param" not in item:
        raise ConfigError("Each [[badges.hosts]] entry needs a host and an id_param.")
    return BadgeHost(
        host=str(item["host"]).lower(),
        id_param=str(item["id_param"]),
        event_param=str(item.get("event_param", "")),
    )
