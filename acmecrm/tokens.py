"""JWT issue and check for AcmeCRM, and the signing secret."""

from __future__ import annotations

import logging
import math
import os
import secrets
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

logger = logging.getLogger(__name__)

ALGORITHM = "HS256"
SECRET_ENV = "ACMECRM_SECRET"
SECRET_FILE_NAME = "acmecrm.secret"
# A token whose iat is at most this far in the server's future is still accepted, so a
# clock that moved back a little does not invalidate fresh tokens. PyJWT checks iat and
# exp against the real clock, so they are checked here by hand against the server clock,
# which the clock_skew_s fault may shift.
IAT_LEEWAY_S = 60
# iat and exp are whole seconds, with iat rounded down, so a token can reach its exp up
# to a second before ttl seconds have passed. Accepting it for one more second keeps
# every token usable for at least its full lifetime. RFC 7519 (4.1.4) allows a small
# leeway on exp.
EXP_LEEWAY_S = 1


class InvalidToken(Exception):
    """The bearer token is missing, malformed, badly signed or expired."""


@dataclass(frozen=True)
class IssuedToken:
    """A freshly signed token and its lifetime in seconds."""

    token: str
    expires_in: int


class TokenIssuer:
    """Signs and checks HS256 tokens against a server clock that may be skewed.

    Args:
        secret: The HMAC signing secret.
        clock: Returns the server time in Unix seconds.
    """

    def __init__(self, secret: str, clock: Callable[[], float]) -> None:
        if not secret:
            raise ValueError("the token signing secret must not be empty")
        self._secret = secret
        self._clock = clock

    def issue(self, subject: str, ttl_s: int) -> IssuedToken:
        """Sign a token for ``subject`` whose ``exp`` is ``iat`` plus ``ttl_s``."""
        issued_at = math.floor(self._clock())
        claims = {
            "sub": subject,
            "iat": issued_at,
            "exp": issued_at + ttl_s,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token=token, expires_in=ttl_s)

    def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid token.

        Raises:
            InvalidToken: With the reason, when the token is not valid now.
        """
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={
                    "require": ["iat", "exp", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"token rejected: {exc}") from exc
        now = self._clock()
        if not isinstance(claims["exp"], int) or not isinstance(claims["iat"], int):
            raise InvalidToken("token rejected: iat and exp must be integers")
        if claims["exp"] + EXP_LEEWAY_S <= now:
            raise InvalidToken("token expired")
        if claims["iat"] > now + IAT_LEEWAY_S:
            raise InvalidToken("token issued in the future")
        return claims


def resolve_secret(explicit: str | None, db_path: str | os.PathLike[str]) -> str:
    """Return the signing secret: ``explicit``, else the environment, else a file.

    The file is ``acmecrm.secret`` beside the database. It is created with mode 0600 and
    a random value when missing, and reused on later starts.
    """
    if explicit:
        return explicit
    from_env = os.environ.get(SECRET_ENV, "")
    if from_env:
        return from_env
    return load_or_create_secret_file(Path(db_path).parent / SECRET_FILE_NAME)


def load_or_create_secret_file(path: Path) -> str:
    """Read the secret in ``path``, creating the file (mode 0600) when missing.

    An existing file that other users may read or write is changed to mode 0600, with a
    warning.

    Raises:
        ValueError: When the file is empty or its mode cannot be changed.
        OSError: When the file cannot be read.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret_file(path)
    secret = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    logger.info("generated a new token signing secret in %s", path)
    return secret


def _read_secret_file(path: Path) -> str:
    with path.open(encoding="ascii") as handle:
        # fstat and fchmod act on the opened file, so the mode checked and changed is
        # that of the file whose secret is read, even if the path is replaced meanwhile.
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        if mode & 0o077:
            try:
                os.fchmod(handle.fileno(), 0o600)
            except OSError as exc:
                raise ValueError(
                    f"the secret file {path} has mode {mode:04o}, open to other "
                    f"users, and changing it to 0600 failed ({exc.strerror}); "
                    "run chmod 600 on it or delete it to generate a new one"
                ) from exc
            logger.warning(
                "the token signing secret file %s had mode %04o, open to other users, "
                "and was changed to 0600",
                path,
                mode,
            )
        secret = handle.read().strip()
    if not secret:
        raise ValueError(
            f"the secret file {path} is empty; delete it to generate a new one"
        )
    return secret
