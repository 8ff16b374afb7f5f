"""The staff PIN that guards leaving the kiosk and opening the staff panel.

The PIN is stored as a salted scrypt hash in a 0600 JSON file in the user config folder,
or given by the ``KIOSK_PIN`` environment variable, which then takes precedence. Wrong
attempts are rate-limited: after a few free tries each further failure locks the PIN
for a delay that doubles, up to a cap. The count of wrong attempts and the lock's end
(wall-clock time) are kept in a 0600 file beside the PIN file, so restarting the kiosk
does not reset a lock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from kiosk.config import APP_NAME
from kiosk.errors import KioskError

log = logging.getLogger(__name__)

PIN_ENV = "KIOSK_PIN"
PIN_FILE_NAME = "staff_pin.json"
LOCK_FILE_SUFFIX = ".attempts"
MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 12

# scrypt cost: 16 MiB of memory a hash. One check took 55 to 120 ms (median about
# 90 ms) on the shared 2-core build machine while other jobs ran.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16


class PinError(KioskError):
    """A PIN that breaks the rules, or a PIN file that cannot be read or written."""


class PinLocked(KioskError):
    """Too many wrong PINs: no attempt is checked until ``retry_after_s`` has passed."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        seconds = max(1, round(retry_after_s))
        super().__init__(f"Too many wrong PINs. Try again in {seconds} s.")


@dataclass(frozen=True)
class PinHash:
    """A salted scrypt hash of a PIN with the cost parameters that produced it."""

    salt: bytes
    digest: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def matches(self, pin: str) -> bool:
        """Is ``pin`` the PIN this hash was made from? Compares in constant time."""
        candidate = _scrypt(pin, self.salt, self.n, self.r, self.p)
        return hmac.compare_digest(candidate, self.digest)

    def to_json(self) -> str:
        """Return the hash as the JSON document stored in the PIN file."""
        document = {
            "scheme": "scrypt",
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "salt": base64.b64encode(self.salt).decode("ascii"),
            "hash": base64.b64encode(self.digest).decode("ascii"),
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PinHash:
        """Read a hash written by :meth:`to_json`.

        Raises:
            ValueError: the text is not such a document.
        """
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("scheme") != "scrypt":
            raise ValueError("not a scrypt PIN document")
        return cls(
            salt=base64.b64decode(document["salt"], validate=True),
            digest=base64.b64decode(document["hash"], validate=True),
            n=int(document["n"]),
            r=int(document["r"]),
            p=int(document["p"]),
        )


def hash_pin(pin: str, salt: bytes | None = None) -> PinHash:
    """Hash ``pin`` with scrypt and a fresh random salt (or ``salt``)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    return PinHash(salt=salt, digest=_scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))


def check_pin_rules(pin: str) -> None:
    """Raise :class:`PinError` unless ``pin`` is 4 to 12 digits."""
    if not pin.isascii() or not pin.isdigit():
        raise PinError("The staff PIN must contain digits only.")
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise PinError(
            f"The staff PIN must be {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits long."
        )


def default_pin_path() -> Path:
    """Return the PIN file's path in the platform's user config folder."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / PIN_FILE_NAME


class PinStore:
    """Sets and checks the staff PIN, with a growing delay after wrong attempts.

    Args:
        path: the PIN file; ``None`` uses :func:`default_pin_path`.
        environ: where ``KIOSK_PIN`` is looked up; ``None`` uses ``os.environ``.
        clock: the wall clock in seconds (a lock's end is stored as its reading, so
            it must keep counting across restarts), replaceable in tests.
        free_attempts: wrong attempts allowed before the first lock.
        base_delay_s: the first lock's length; each further failure doubles it.
        max_delay_s: the maximum lock length.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        free_attempts: int = 3,
        base_delay_s: float = 5.0,
        max_delay_s: float = 300.0,
    ) -> None:
        self.path = default_pin_path() if path is None else path
        self._environ = os.environ if environ is None else environ
        self._clock = clock
        self._free_attempts = free_attempts
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._failures = 0
        self._locked_until = 0.0
        self._load_attempts()

    @property
    def attempts_path(self) -> Path:
        """The 0600 file that keeps wrong attempts and the lock across restarts."""
        return self.path.with_name(self.path.name + LOCK_FILE_SUFFIX)

    @property
    def from_environment(self) -> bool:
        """Is the PIN given by ``KIOSK_PIN`` (so it cannot be changed here)?"""
        return bool(self._environ.get(PIN_ENV, ""))

    def is_set(self) -> bool:
        """Is there a PIN, from the environment or the PIN file?"""
        return self.from_environment or self.path.exists()

    def set_pin(self, pin: str) -> None:
        """Store a new PIN's hash in the PIN file, readable by this user only.

        Raises:
            PinError: the PIN breaks the rules, ``KIOSK_PIN`` is set, or the file
                cannot be written.
        """
        check_pin_rules(pin)
        if self.from_environment:
            raise PinError(
                f"The staff PIN comes from the {PIN_ENV} environment variable. "
                f"Unset it to store a PIN in {self.path}."
            )
        try:
            _write_private_file(self.path, hash_pin(pin).to_json())
        except OSError as exc:
            raise PinError(f"Cannot write the PIN file {self.path}: {exc}.") from exc
        self._failures = 0
        self._locked_until = 0.0
        self._save_attempts()
        log.info("Staff PIN stored in %s", self.path)

    def retry_after(self) -> float:
        """Return the seconds left before the next attempt is checked (0 when free).

        Capped at the maximum delay, so a wall clock set back does not lengthen a lock.
        """
        remaining = self._locked_until - self._clock()
        return min(max(0.0, remaining), self._max_delay_s)

    def verify(self, pin: str) -> bool:
        """Check ``pin`` and count a wrong one towards the lock.

        Returns:
            True for the right PIN, or when no PIN is set at all.

        Raises:
            PinLocked: the PIN is locked after wrong attempts; ``pin`` was not checked.
            PinError: the PIN file is damaged or unreadable.
        """
        remaining = self.retry_after()
        if remaining > 0:
            raise PinLocked(remaining)
        if self._matches(pin):
            if self._failures:
                self._failures = 0
                self._locked_until = 0.0
                self._save_attempts()
            return True
        self._record_failure()
        return False

    def _matches(self, pin: str) -> bool:
        env_pin = self._environ.get(PIN_ENV, "")
        if env_pin:
            return hmac.compare_digest(pin.encode("utf-8"), env_pin.encode("utf-8"))
        stored = self._stored_hash()
        return stored is None or stored.matches(pin)

    def _record_failure(self) -> None:
        self._failures += 1
        log.info("Wrong staff PIN entered (%d in a row)", self._failures)
        excess = self._failures - self._free_attempts
        if excess >= 0:
            delay = min(self._base_delay_s * 2**excess, self._max_delay_s)
            self._locked_until = self._clock() + delay
        self._save_attempts()

    def _load_attempts(self) -> None:
        try:
            document = json.loads(self.attempts_path.read_text(encoding="utf-8"))
            self._failures = max(0, int(document["failures"]))
            self._locked_until = float(document["locked_until"])
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # A damaged counter must not unlock the PIN: treat it as fully locked.
            log.warning(
                "Cannot read the PIN attempts file %s (%s); locking the PIN",
                self.attempts_path,
                type(exc).__name__,
            )
            self._failures = self._free_attempts
            self._locked_until = self._clock() + self._max_delay_s

    def _save_attempts(self) -> None:
        if self._failures == 0 and not self.attempts_path.exists():
            return
        document = {"failures": self._failures, "locked_until": self._locked_until}
        try:
            _write_private_file(self.attempts_path, json.dumps(document) + "\n")
        except OSError as exc:
            log.warning(
                "Cannot write the PIN attempts file %s: %s", self.attempts_path, exc
            )

    def _stored_hash(self) -> PinHash | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PinError(f"Cannot read the PIN file {self.path}: {exc}.") from exc
        try:
            return PinHash.from_json(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise PinError(
                f"The PIN file {self.path} is damaged. "
                "Run 'kiosk set-pin' to set a new staff PIN."
            ) from exc


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)


def _write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, with mode 0600 from the start."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
