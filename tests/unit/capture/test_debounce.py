from __future__ import annotations

import pytest

from kiosk.capture.debounce import Debouncer
from kiosk.capture.types import DecodedCode

CODE_A = DecodedCode("A", b"A", "zxing")
CODE_B = DecodedCode("B", b"B", "zxing")


def test_same_code_accepted_once_while_in_view() -> None:
    debouncer = Debouncer(hold_s=2.0)
    accepted = [debouncer.accept([CODE_A], i / 30) for i in range(30)]
    assert sum(len(batch) for batch in accepted) == 1
    assert accepted[0] == [CODE_A]


def test_code_accepted_again_after_out_of_view() -> None:
    debouncer = Debouncer(hold_s=2.0)
    assert debouncer.accept([CODE_A], 0.0) == [CODE_A]
    assert debouncer.accept([], 1.0) == []
    assert debouncer.accept([CODE_A], 1.9) == []
    assert debouncer.accept([CODE_A], 4.0) == [CODE_A]


def test_short_gap_does_not_reaccept() -> None:
    debouncer = Debouncer(hold_s=2.0)
    debouncer.accept([CODE_A], 0.0)
    assert debouncer.accept([CODE_A], 1.5) == []
    assert debouncer.accept([CODE_A], 3.0) == []


def test_second_code_in_view_accepted() -> None:
    debouncer = Debouncer(hold_s=2.0)
    assert debouncer.accept([CODE_A], 0.0) == [CODE_A]
    assert debouncer.accept([CODE_A, CODE_B], 0.1) == [CODE_B]
    assert debouncer.accept([CODE_A, CODE_B], 0.2) == []


def test_reset_forgets_codes() -> None:
    debouncer = Debouncer(hold_s=2.0)
    debouncer.accept([CODE_A], 0.0)
    debouncer.reset()
    assert debouncer.accept([CODE_A], 0.1) == [CODE_A]


def test_negative_hold_rejected() -> None:
    with pytest.raises(ValueError, match="hold_s"):
        Debouncer(hold_s=-1)
