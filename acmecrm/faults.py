"""Fault settings that make AcmeCRM misbehave on purpose, and its rate limit."""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FaultSettings:
    """Faults applied to ``/api/v1/*`` requests.

    Attributes:
        down: Every ``/api/v1`` request gets a 503 response.
        error_rate: Share of requests (0 to 1) that get a random 500, 502 or 503.
        latency_ms: Delay added before each request is handled, in milliseconds.
        rate_limit: Requests a minute allowed per token; 0 means unlimited.
        token_ttl: Lifetime of issued tokens, in seconds.
        apply_then_timeout_rate: Share of contact writes (0 to 1) that are stored and
            then get their response only after ``hold_ms``.
        hold_ms: How long such a response is held, in milliseconds.
        clock_skew_s: Offset of the server clock used for token ``iat`` and ``exp``,
            in seconds.
        seed: Seed of the random generator behind the rates; None seeds from the OS.
    """

    down: bool = False
    error_rate: float = 0.0
    latency_ms: int = 0
    rate_limit: int = 100
    token_ttl: int = 900
    apply_then_timeout_rate: float = 0.0
    hold_ms: int = 15_000
    clock_skew_s: float = 0.0
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SettingRange:
    """The accepted values of one numeric fault setting.

    Attributes:
        minimum: The smallest accepted value.
        maximum: The largest accepted value.
        integer: Whether the value must be a whole number.
        unit: The unit named in error messages, or "" for a share.
    """

    minimum: float
    maximum: float
    integer: bool
    unit: str = ""

    def describe(self) -> str:
        """Return the accepted range in words, such as "an integer from 0 to 10"."""
        kind = "an integer" if self.integer else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{kind} from {self.minimum:g} to {self.maximum:g}{unit}"


# The bounds leave room for any test while rejecting values that would hold requests
# for days, issue tokens that never expire or overflow a timer, such as 1e12 ms.
SETTING_RANGES: dict[str, SettingRange] = {
    "error_rate": SettingRange(0, 1, integer=False),
    "apply_then_timeout_rate": SettingRange(0, 1, integer=False),
    "latency_ms": SettingRange(0, 60_000, integer=True, unit="ms"),
    "hold_ms": SettingRange(0, 600_000, integer=True, unit="ms"),
    "token_ttl": SettingRange(1, 86_400, integer=True, unit="seconds"),
    "rate_limit": SettingRange(0, 100_000, integer=True, unit="requests a minute"),
    "clock_skew_s": SettingRange(-86_400, 86_400, integer=False, unit="seconds"),
}


def parse_fault_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check fault changes and return them converted to their field types.

    Raises:
        ValueError: With a message naming each unknown or invalid setting.
    """
    known = {field.name for field in dataclasses.fields(FaultSettings)}
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in known:
            problems.append(
                f"{name}: unknown fault setting ({', '.join(sorted(known))})"
            )
            continue
        try:
            clean[name] = convert_fault_value(name, value)
        except (TypeError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise ValueError("; ".join(problems))
    return clean


def convert_fault_value(name: str, value: Any) -> Any:
    """Check one fault setting and return it converted to its field type.

    Raises:
        TypeError: When the value has the wrong JSON type.
        ValueError: When a number is not finite or outside the setting's range.
        KeyError: When ``name`` is not a fault setting.
    """
    if name == "down":
        if not isinstance(value, bool):
            raise TypeError("must be true or false")
        return value
    if name == "seed":
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int)
        ):
            raise TypeError("must be an integer or null")
        return value
    return _convert_number(SETTING_RANGES[name], value)


def _convert_number(accepted: SettingRange, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"must be {accepted.describe()}, got {_json_type(value)}")
    # The finite check comes first because int() raises on NaN and infinities.
    finite = not isinstance(value, float) or math.isfinite(value)
    in_range = finite and accepted.minimum <= value <= accepted.maximum
    if not in_range or (accepted.integer and value != int(value)):
        value_text = repr(value)
        if len(value_text) > 30:
            value_text = value_text[:27] + "..."
        raise ValueError(f"must be {accepted.describe()}, got {value_text}")
    return int(value) if accepted.integer else float(value)


def _json_type(value: Any) -> str:
    names = {str: "a string", list: "a list", dict: "an object", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


class FaultState:
    """The fault settings in force, changeable from any thread, and their RNG."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = settings or FaultSettings()
        self._rng = random.Random(self._settings.seed)

    @property
    def settings(self) -> FaultSettings:
        """The settings now in force."""
        with self._lock:
            return self._settings

    def update(self, changes: Mapping[str, Any]) -> FaultSettings:
        """Apply checked changes and return the new settings.

        Raises:
            ValueError: When a setting is unknown or its value invalid.
        """
        clean = parse_fault_changes(changes)
        with self._lock:
            self._settings = dataclasses.replace(self._settings, **clean)
            if "seed" in clean:
                self._rng = random.Random(clean["seed"])
            return self._settings

    def chance(self, rate: float) -> bool:
        """Draw True with probability ``rate``."""
        if rate <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def choice(self, options: tuple[int, ...]) -> int:
        """Draw one of ``options`` uniformly."""
        with self._lock:
            return self._rng.choice(options)

    def server_time(self) -> float:
        """Return the server clock in Unix seconds, with the clock skew applied."""
        return time.time() + self.settings.clock_skew_s


class RateLimiter:
    """A sliding one-minute window of requests per token."""

    WINDOW_S = 60.0
    # Windows of tokens idle for a whole window are dropped once this many are kept.
    PRUNE_ABOVE = 1000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def acquire(self, token_id: str, limit: int) -> int:
        """Count a request and return 0, or the whole seconds until one is allowed.

        A rejected request is not counted. ``limit`` 0 means unlimited.
        """
        if limit <= 0:
            return 0
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > self.PRUNE_ABOVE:
                self._prune(now)
            window = self._seen.setdefault(token_id, deque())
            while window and window[0] <= now - self.WINDOW_S:
                window.popleft()
            if len(window) < limit:
                window.append(now)
                return 0
            # A slot frees when the oldest of the last `limit` requests leaves it.
            wait = window[len(window) - limit] + self.WINDOW_S - now
            return max(1, math.ceil(wait))

    def tracked_tokens(self) -> int:
        """Return how many tokens have a window kept."""
        with self._lock:
            return len(self._seen)

    def _prune(self, now: float) -> None:
        idle = [
            token_id
            for token_id, window in self._seen.items()
            if not window or window[-1] <= now - self.WINDOW_S
        ]
        for token_id in idle:
            del self._seen[token_id]
