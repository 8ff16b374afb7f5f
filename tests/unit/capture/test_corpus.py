"""The decoder chain on the real photos of the zxing-samples corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp

from kiosk.capture.decoders import DecoderChain
from kiosk.capture.imaging import read_image
from kiosk.capture.stages import QR_ONLY

CORPUS = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "zxing-samples"
)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
POSITIVE_SETS = ["qrcode-1", "qrcode-2", "qrcode-4", "qrcode-6"]
FALSE_POSITIVE_SETS = ["falsepositives-1", "falsepositives-2"]


def _images(name: str) -> list[Path]:
    folder = CORPUS / name
    if not folder.is_dir():
        pytest.skip(f"corpus folder {folder} is absent")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _expected(image: Path) -> str:
    # newline="" keeps the CRLF line ends of vCards exactly as stored.
    with image.with_suffix(".txt").open(encoding="utf-8", newline="") as handle:
        return handle.read()


@pytest.mark.parametrize("name", POSITIVE_SETS)
def test_chain_reads_at_least_zxing(name: str) -> None:
    chain = DecoderChain()
    chain_read = zxing_read = wrong = 0
    for path in _images(name):
        if not path.with_suffix(".txt").exists():
            continue
        expected = _expected(path)
        image = read_image(path)
        assert image is not None, f"{path.name} is not readable"
        texts = [code.text for code in chain.decode_still(image)]
        chain_read += expected in texts
        wrong += bool(texts) and expected not in texts
        baseline = zxingcpp.read_barcodes(
            image, formats=QR_ONLY, text_mode=zxingcpp.TextMode.Plain
        )
        zxing_read += expected in [result.text for result in baseline]
    assert chain_read >= zxing_read
    assert wrong == 0


@pytest.mark.parametrize("name", FALSE_POSITIVE_SETS)
def test_chain_finds_nothing_in_false_positive_sets(name: str) -> None:
    # Images without a code use the whole still budget; 0.5 s keeps the test short
    # while every stage still runs. benchmarks/decode.py runs the full 2 s.
    chain = DecoderChain(still_budget_s=0.5)
    found = {}
    for path in _images(name):
        image = read_image(path)
        assert image is not None, f"{path.name} is not readable"
        codes = chain.decode_still(image)
        if codes:
            found[path.name] = [code.decoder for code in codes]
    assert found == {}
