"""Compare the kiosk's QR decoder chain with zxing-cpp, pyzbar and OpenCV alone.

Runs every decoder side by side in one process on two kinds of sets. The synthetic
sets are seeded 1280x720 frames generated with the ``qrcode`` package, holding UTF-8
vCards, MECARDs, URLs and ids with code widths of about 150 to 520 px, each set with one
distortion: rotation, blur, motion blur, glare, perspective tilt, JPEG artefacts, dim
light, noise, inverted or mirrored. The corpus sets are the real photos of the
zxing-samples corpus when it is present, false-positive sets included.

Per decoder and per set it prints these columns. ``found``: images where any code was
returned. ``read``: images where a code has exactly the expected text. ``wrong``: codes
returned but none with the expected text. ``fp``: false positives, any code on an image
without one. Then the median and p95 time per image.
The chain's first pass and its fallbacks are timed separately. ``chain`` is the still
mode of ``kiosk decode``; ``chain-live`` is one live frame; ``chain-live-60f`` holds the
image in view for up to 60 live frames (its times are per frame).

Usage:
    python benchmarks/decode.py [--quick] [--corpus DIR] [--per-set N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

from kiosk.capture.decoders import DecoderChain
from kiosk.capture.imaging import as_image, read_image
from kiosk.capture.render import add_noise, render_badge_frame_with_box
from kiosk.capture.types import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "zxing-samples"
DISTORTIONS = (
    "clean", "rotation", "blur", "motion", "glare", "tilt", "jpeg", "dim", "noise",
    "inverted", "mirrored",
)  # fmt: skip
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
HELD_FRAMES = 60  # two seconds of a 30 fps camera


@dataclass
class Sample:
    """One benchmark image and the text its code contains (``None``: no code)."""

    name: str
    image: Image
    expected: str | None


@dataclass
class Tally:
    """Outcomes and timings of one decoder on one set."""

    images: int = 0
    positives: int = 0
    found: int = 0
    read: int = 0
    wrong: int = 0
    false_positives: int = 0
    times_ms: list[float] = field(default_factory=list)

    def add(self, sample: Sample, texts: list[str], seconds: float) -> None:
        self.images += 1
        self.times_ms.append(seconds * 1000)
        if sample.expected is None:
            self.false_positives += bool(texts)
            return
        self.positives += 1
        self.found += bool(texts)
        if sample.expected in texts:
            self.read += 1
        elif texts:
            self.wrong += 1


# --- synthetic stills -----------------------------------------------------------------


def synthetic_payload(rng: np.random.Generator, index: int) -> str:
    """Return a payload of one of four kinds: UTF-8 vCard, MECARD, URL, id."""
    first = ["José", "Zoë", "Łukasz", "太郎", "Ana", "Søren", "Minh Châu", "Yuki"]
    last = ["Müller", "García", "山田", "Øster", "Nguyễn", "O'Neil", "Smith", "Kovač"]
    name_f = first[int(rng.integers(len(first)))]
    name_l = last[int(rng.integers(len(last)))]
    user = f"user{int(rng.integers(10_000))}"
    kind = index % 4
    if kind == 0:
        return (
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:{name_l};{name_f};;;\r\n"
            f"FN:{name_f} {name_l}\r\nORG:Société Exemple 株式会社\r\n"
            f"TEL:+33 1 23 45 67 {int(rng.integers(10, 99))}\r\n"
            f"EMAIL:{user}@example.com\r\nEND:VCARD\r\n"
        )
    if kind == 1:
        return f"MECARD:N:{name_l},{name_f};EMAIL:{user}@example.org;TEL:+4930123456;;"
    if kind == 2:
        return f"https://reg.example.com/badge?aid={int(rng.integers(1e8))}&e=EXPO26"
    return f"A{int(rng.integers(1e9)):09d}"


def distort(
    frame: Image,
    kind: str,
    rng: np.random.Generator,
    box: tuple[int, int, int, int],
) -> Image:
    """Apply one named distortion to a BGR frame whose code lies in ``box``."""
    height, width = frame.shape[:2]
    if kind == "rotation":
        # Rotating about the code keeps it in the frame.
        centre = (box[0] + box[2] / 2, box[1] + box[3] / 2)
        matrix = cv2.getRotationMatrix2D(centre, float(rng.uniform(-45, 45)), 1.0)
        return as_image(cv2.warpAffine(frame, matrix, (width, height), borderValue=128))
    if kind == "blur":
        return as_image(cv2.GaussianBlur(frame, (0, 0), float(rng.uniform(1.5, 3.5))))
    if kind == "motion":
        length = int(rng.integers(7, 17))
        psf = np.zeros((length, length), np.float32)
        psf[length // 2, :] = 1.0 / length
        rotation = cv2.getRotationMatrix2D(
            ((length - 1) / 2, (length - 1) / 2), float(rng.uniform(0, 180)), 1.0
        )
        psf = cv2.warpAffine(psf, rotation, (length, length))
        return as_image(cv2.filter2D(frame, -1, psf / psf.sum()))
    if kind == "glare":
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        cx, cy = float(rng.uniform(0, width)), float(rng.uniform(0, height))
        radius = float(rng.uniform(150, 350))
        spot = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))
        glare = frame.astype(np.float32) + spot[..., None] * float(rng.uniform(90, 170))
        return as_image(np.clip(glare, 0, 255))
    if kind == "tilt":
        shift = float(rng.uniform(0.1, 0.25))
        src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
        dst = np.float32(
            [[width * shift, height * shift / 2], [width * (1 - shift / 3), 0],
             [width, height], [width * shift / 2, height * (1 - shift / 2)]]
        )  # fmt: skip
        matrix = cv2.getPerspectiveTransform(src, dst)
        return as_image(
            cv2.warpPerspective(frame, matrix, (width, height), borderValue=128)
        )
    if kind == "jpeg":
        quality = int(rng.integers(8, 25))
        _, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return as_image(cv2.imdecode(data, cv2.IMREAD_COLOR))
    if kind == "dim":
        dim = frame.astype(np.float32) * float(rng.uniform(0.12, 0.25))
        return add_noise(as_image(dim), rng, sigma=2.0)
    if kind == "noise":
        return add_noise(frame, rng, sigma=float(rng.uniform(18, 35)))
    if kind == "inverted":
        return as_image(255 - frame)
    if kind == "mirrored":
        return as_image(np.ascontiguousarray(frame[:, ::-1]))
    return frame


def synthetic_sets(per_set: int) -> Iterator[tuple[str, list[Sample]]]:
    """Yield each distortion's set of seeded frames."""
    for set_index, kind in enumerate(DISTORTIONS):
        samples = []
        for index in range(per_set):
            seed = 1000 * set_index + index
            rng = np.random.default_rng(seed)
            text = synthetic_payload(rng, index)
            code_px = int(rng.integers(150, 521))
            frame, box = render_badge_frame_with_box(text, code_px=code_px, seed=seed)
            image = distort(frame, kind, rng, box)
            samples.append(Sample(f"{kind}-{index}", image, text))
        yield f"synthetic/{kind}", samples


# --- corpus ---------------------------------------------------------------------------


def corpus_sets(corpus: Path, step: int) -> Iterator[tuple[str, list[Sample]]]:
    """Yield each corpus folder's images and expected texts (``None``: no code)."""
    for folder in sorted(path for path in corpus.iterdir() if path.is_dir()):
        false_positive_set = folder.name.startswith("falsepositives")
        images = sorted(
            p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
        )
        samples = []
        for path in images[::step]:
            expected = None
            if not false_positive_set:
                text_path = path.with_suffix(".txt")
                if not text_path.exists():
                    continue
                # newline="" keeps a vCard's CRLF line ends as they are in the file.
                with text_path.open(encoding="utf-8", newline="") as handle:
                    expected = handle.read()
            image = read_image(path)
            if image is not None:
                samples.append(Sample(path.name, image, expected))
        yield f"corpus/{folder.name}", samples


# --- decoders -------------------------------------------------------------------------


def zxing_alone(image: Image) -> list[str]:
    """zxing-cpp with its defaults, QR only, plain text mode."""
    results = zxingcpp.read_barcodes(
        image,
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        text_mode=zxingcpp.TextMode.Plain,
    )
    return [result.text for result in results]


def pyzbar_alone(image: Image) -> list[str]:
    """pyzbar with its defaults (zbar guesses the text encoding)."""
    from pyzbar import pyzbar

    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    found = pyzbar.decode(grey, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [item.data.decode("utf-8", errors="replace") for item in found]


def opencv_alone(image: Image) -> list[str]:
    """OpenCV's classic QRCodeDetector, several codes a frame."""
    detector = cv2.QRCodeDetector()
    try:
        # The text variant raises UnicodeDecodeError on payloads that are not UTF-8.
        ok, payloads, _, _ = detector.detectAndDecodeBytesMulti(image)
    except cv2.error:
        return []
    if not ok:
        return []
    return [bytes(raw).decode("utf-8", errors="replace") for raw in payloads if raw]


# --- running --------------------------------------------------------------------------


@dataclass
class Row:
    """Tallies of every decoder on one set."""

    name: str
    tallies: dict[str, Tally] = field(default_factory=dict)

    def tally(self, decoder: str) -> Tally:
        return self.tallies.setdefault(decoder, Tally())


def run_set(name: str, samples: list[Sample], decoders: list[str]) -> Row:
    """Run every decoder on every sample of one set."""
    row = Row(name)
    chain = DecoderChain()
    live_chain = DecoderChain()
    alone: dict[str, Callable[[Image], list[str]]] = {
        "zxing-cpp": zxing_alone,
        "pyzbar": pyzbar_alone,
        "opencv": opencv_alone,
    }
    for sample in samples:
        began = time.perf_counter()
        codes = chain.decode_still(sample.image)
        spent = time.perf_counter() - began
        texts = [code.text for code in codes]
        row.tally("chain").add(sample, texts, spent)
        timing = chain.last_timing
        row.tally("chain:first-pass").times_ms.append(timing.first_pass_s * 1000)
        row.tally("chain:fallbacks").times_ms.append(timing.fallback_s * 1000)

        began = time.perf_counter()
        live = [code.text for code in live_chain.decode_live(sample.image)]
        row.tally("chain-live").add(sample, live, time.perf_counter() - began)
        held, frame_times = hold_in_view(sample.image, sample.expected)
        tally = row.tally(f"chain-live-{HELD_FRAMES}f")
        tally.add(sample, held, 0.0)
        tally.times_ms[-1:] = [1000 * seconds for seconds in frame_times]

        for decoder in decoders:
            began = time.perf_counter()
            found = alone[decoder](sample.image)
            row.tally(decoder).add(sample, found, time.perf_counter() - began)
    return row


def hold_in_view(image: Image, expected: str | None) -> tuple[list[str], list[float]]:
    """Decode the same frame live up to :data:`HELD_FRAMES` times, as a held badge.

    Returns:
        The texts of the first frame that read the expected code (or of the last
        frame), and the time of every frame decoded.
    """
    chain = DecoderChain()
    times = []
    texts: list[str] = []
    for _ in range(HELD_FRAMES):
        began = time.perf_counter()
        texts = [code.text for code in chain.decode_live(image)]
        times.append(time.perf_counter() - began)
        if texts and (expected is None or expected in texts):
            break
    return texts, times


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def format_row(set_name: str, decoder: str, tally: Tally) -> str:
    times = tally.times_ms
    median = statistics.median(times) if times else 0.0
    if tally.images == 0:  # timing-only rows
        return (
            f"{set_name:<26} {decoder:<17} {'':>5} {'':>7} {'':>7} {'':>5} {'':>4} "
            f"{median:8.1f} {percentile(times, 0.95):8.1f}"
        )
    positives = max(1, tally.positives)
    return (
        f"{set_name:<26} {decoder:<17} {tally.images:5d} "
        f"{100 * tally.found / positives:6.1f}% {100 * tally.read / positives:6.1f}% "
        f"{tally.wrong:5d} {tally.false_positives:4d} "
        f"{median:8.1f} {percentile(times, 0.95):8.1f}"
    )


HEADER = (
    f"{'set':<26} {'decoder':<17} {'imgs':>5} {'found':>7} {'read':>7} {'wrong':>5} "
    f"{'fp':>4} {'med ms':>8} {'p95 ms':>8}"
)


def summarise(rows: list[Row], decoders: list[str]) -> dict[str, Tally]:
    totals: dict[str, Tally] = {}
    for row in rows:
        for decoder, tally in row.tallies.items():
            total = totals.setdefault(decoder, Tally())
            total.images += tally.images
            total.positives += tally.positives
            total.found += tally.found
            total.read += tally.read
            total.wrong += tally.wrong
            total.false_positives += tally.false_positives
            total.times_ms += tally.times_ms
    return totals


def time_first_pass(per_set: int) -> int:
    """Print the median and p95 time of the first pass alone on the synthetic frames."""
    from kiosk.capture.stages import FrameViews, first_pass

    images = [
        sample.image for _, samples in synthetic_sets(per_set) for sample in samples
    ]
    times = []
    for _ in range(3):
        for image in images:
            began = time.perf_counter()
            first_pass(FrameViews(image))
            times.append((time.perf_counter() - began) * 1000)
    median = statistics.median(times)
    p95 = percentile(times, 0.95)
    print(
        f"first pass on {len(images)} synthetic 1280x720 frames, 3 rounds: "
        f"median {median:.1f} ms, p95 {p95:.1f} ms"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a short run: 4 frames a set"
    )
    parser.add_argument(
        "--per-set", type=int, default=24, help="synthetic frames a set"
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--no-pyzbar", action="store_true", help="skip pyzbar alone")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument(
        "--first-pass",
        action="store_true",
        help="only time the chain's first pass on the synthetic frames, 3 rounds",
    )
    args = parser.parse_args(argv)
    per_set = 4 if args.quick else args.per_set
    if args.first_pass:
        return time_first_pass(per_set)
    corpus_step = 4 if args.quick else 1
    decoders = ["zxing-cpp", "opencv"] + ([] if args.no_pyzbar else ["pyzbar"])

    sets = list(synthetic_sets(per_set))
    if args.corpus.is_dir():
        sets += list(corpus_sets(args.corpus, corpus_step))
    else:
        print(
            f"corpus folder {args.corpus} is absent; synthetic sets only",
            file=sys.stderr,
        )

    print(HEADER)
    rows = []
    for name, samples in sets:
        row = run_set(name, samples, decoders)
        rows.append(row)
        for decoder, tally in row.tallies.items():
            print(format_row(name, decoder, tally))
        sys.stdout.flush()
    print()
    print(HEADER)
    totals = summarise(rows, decoders)
    for decoder, tally in totals.items():
        print(format_row("ALL", decoder, tally))
    if args.json:
        data = {
            row.name: {d: t.__dict__ for d, t in row.tallies.items()} for row in rows
        }
        args.json.write_text(json.dumps(data), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
