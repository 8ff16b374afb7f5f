"""Token refresh scheduling on the client's clock."""

from __future__ import annotations

import threading
import time

import pytest

from sync_daemon.auth import TokenGrant, TokenManager


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Issuer:
    def __init__(self, ttl: float = 100.0, delay_s: float = 0.0) -> None:
        self.ttl = ttl
        self.delay_s = delay_s
        self.calls = 0

    def __call__(self) -> TokenGrant:
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        return TokenGrant(f"token-{self.calls}", self.ttl)


def test_refresh_at_75_percent() -> None:
    clock, issuer = FakeClock(), Issuer(ttl=100)
    manager = TokenManager(issuer, clock=clock)
    assert manager.token() == "token-1"
    assert manager.refresh_at == pytest.approx(575.0)
    clock.now = 574.9
    assert manager.token() == "token-1"
    clock.now = 575.0
    assert manager.token() == "token-2"
    assert manager.refresh_count == 2


def test_server_clock_does_not_matter() -> None:
    # The grant carries only a lifetime; the schedule is on the client's clock.
    clock, issuer = FakeClock(), Issuer(ttl=20)
    manager = TokenManager(issuer, clock=clock)
    manager.token()
    clock.now += 14.9
    assert manager.token() == "token-1"
    clock.now += 0.2
    assert manager.token() == "token-2"


def test_invalidate_current_token_forces_refresh() -> None:
    clock, issuer = FakeClock(), Issuer()
    manager = TokenManager(issuer, clock=clock)
    manager.invalidate(manager.token())
    assert manager.token() == "token-2"


def test_invalidate_stale_token_keeps_new_one() -> None:
    clock, issuer = FakeClock(), Issuer()
    manager = TokenManager(issuer, clock=clock)
    old = manager.token()
    manager.invalidate(old)
    new = manager.token()
    manager.invalidate(old)
    assert manager.token() == new
    assert issuer.calls == 2


def test_one_refresh_at_a_time() -> None:
    issuer = Issuer(delay_s=0.1)
    manager = TokenManager(issuer)
    tokens: list[str] = []
    threads = [
        threading.Thread(target=lambda: tokens.append(manager.token()))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert issuer.calls == 1
    assert tokens == ["token-1"] * 8


def test_grant_repr_hides_token() -> None:
    assert "secret-value" not in repr(TokenGrant("secret-value", 60))


def test_fetch_error_propagates_and_retries_next_time() -> None:
    calls = {"n": 0}

    def flaky() -> TokenGrant:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("down")
        return TokenGrant("ok", 60)

    manager = TokenManager(flaky)
    with pytest.raises(ConnectionError):
        manager.token()
    assert manager.token() == "ok"
