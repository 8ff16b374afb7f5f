"""The staff PIN: salted hash in a private file, KIOSK_PIN, rate limit, set-pin."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from kiosk.cli import main as kiosk_main
from kiosk.pin import PinError, PinHash, PinLocked, PinStore, hash_pin


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> PinStore:
    return PinStore(tmp_path / "config" / "staff_pin.json", environ={}, clock=clock)


def test_no_pin_set_accepts_anything(store: PinStore) -> None:
    assert not store.is_set()
    assert store.verify("0000")


def test_set_pin_writes_private_salted_hash(store: PinStore) -> None:
    store.set_pin("4711")

    assert store.is_set()
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600
    text = store.path.read_text(encoding="utf-8")
    assert "4711" not in text
    document = json.loads(text)
    assert document["scheme"] == "scrypt"
    assert len(document["salt"]) > 10


def test_verify_right_and_wrong_pin(store: PinStore) -> None:
    store.set_pin("4711")

    assert store.verify("4711")
    assert not store.verify("4712")
    assert not store.verify("")


def test_same_pin_hashes_differ_by_salt() -> None:
    first = hash_pin("123456")
    second = hash_pin("123456")

    assert first.salt != second.salt
    assert first.digest != second.digest
    assert first.matches("123456")
    assert second.matches("123456")


def test_hash_round_trips_through_json() -> None:
    original = hash_pin("9876")

    restored = PinHash.from_json(original.to_json())

    assert restored == original
    assert restored.matches("9876")


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "１２３４", ""])
def test_set_pin_rejects_bad_pins(store: PinStore, pin: str) -> None:
    with pytest.raises(PinError):
        store.set_pin(pin)
    assert not store.is_set()


def test_wrong_attempts_lock_with_growing_delay(
    store: PinStore, clock: FakeClock
) -> None:
    store.set_pin("4711")
    for _ in range(2):
        assert not store.verify("0000")
    assert store.retry_after() == 0

    assert not store.verify("0000")  # third failure: first lock, 5 s
    assert store.retry_after() == pytest.approx(5.0)
    with pytest.raises(PinLocked) as locked:
        store.verify("4711")
    assert locked.value.retry_after_s == pytest.approx(5.0)

    clock.now += 5.0
    assert not store.verify("0000")  # fourth failure doubles the lock
    assert store.retry_after() == pytest.approx(10.0)

    clock.now += 10.0
    assert store.verify("4711")
    assert store.retry_after() == 0
    assert not store.verify("0000")
    assert store.retry_after() == 0


def test_lock_delay_is_capped(store: PinStore, clock: FakeClock) -> None:
    store.set_pin("4711")
    for _ in range(20):
        clock.now += store.retry_after()
        store.verify("0000")

    assert store.retry_after() == pytest.approx(300.0)


def test_lock_survives_restart(store: PinStore, clock: FakeClock) -> None:
    store.set_pin("4711")
    for _ in range(3):
        assert not store.verify("0000")

    restarted = PinStore(store.path, environ={}, clock=clock)

    assert restarted.retry_after() == pytest.approx(5.0)
    with pytest.raises(PinLocked):
        restarted.verify("4711")
    assert store.attempts_path.stat().st_mode & 0o777 == 0o600


def test_attempt_count_survives_restart(store: PinStore, clock: FakeClock) -> None:
    store.set_pin("4711")
    for _ in range(2):
        assert not store.verify("0000")

    restarted = PinStore(store.path, environ={}, clock=clock)
    assert not restarted.verify("0000")

    assert restarted.retry_after() == pytest.approx(5.0)


def test_right_pin_resets_stored_attempts(store: PinStore, clock: FakeClock) -> None:
    store.set_pin("4711")
    for _ in range(2):
        assert not store.verify("0000")
    assert store.verify("4711")

    restarted = PinStore(store.path, environ={}, clock=clock)
    assert not restarted.verify("0000")

    assert restarted.retry_after() == 0


def test_clock_set_back_keeps_lock_capped(store: PinStore, clock: FakeClock) -> None:
    store.set_pin("4711")
    for _ in range(3):
        assert not store.verify("0000")

    clock.now -= 10_000.0

    assert store.retry_after() == pytest.approx(300.0)


def test_environment_pin_takes_precedence(tmp_path: Path) -> None:
    store = PinStore(tmp_path / "pin.json", environ={"KIOSK_PIN": "2468"})

    assert store.is_set()
    assert store.from_environment
    assert store.verify("2468")
    assert not store.verify("4711")
    with pytest.raises(PinError, match="KIOSK_PIN"):
        store.set_pin("1357")


def test_damaged_pin_file_names_the_fix(store: PinStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{not json", encoding="utf-8")

    with pytest.raises(PinError, match="set-pin"):
        store.verify("4711")


def test_set_pin_command_reads_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("KIOSK_PIN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("13579\n"))

    status = kiosk_main(["set-pin"])

    assert status == 0
    store = PinStore(environ={})
    assert store.path.is_relative_to(tmp_path)
    assert store.verify("13579")
    assert not store.verify("13578")


def test_set_pin_command_rejects_short_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("KIOSK_PIN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))

    status = kiosk_main(["set-pin"])

    assert status == 1
    assert "4 to 12 digits" in capsys.readouterr().err
    assert not PinStore(environ={}).is_set()


def test_set_pin_command_rejects_mismatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("KIOSK_PIN", raising=False)
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", terminal)
    answers = iter(["8642", "8643"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    status = kiosk_main(["set-pin"])

    assert status == 1
    assert not PinStore(environ={}).is_set()
