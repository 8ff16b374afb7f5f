"""Time ``kiosk.contacts.parse`` on many kinds of payload and print max and p99.

Run from the repository root:

    python benchmarks/parse.py [--count N] [--seed S]

The kinds of input are well-formed samples, random text, vCard- and MECARD-shaped
noise, binary data, oversized input, and hand-made worst cases for each reader. They
are generated with a fixed seed. The first five payloads of each kind are parsed once
to warm up, then every payload is timed on its own with ``time.perf_counter``. The
target is under 50 ms for any payload up to 8 KiB. The exit status is 1 when a payload
of at most 8 KiB missed the target.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.contacts import MAX_PAYLOAD_BYTES, PayloadRejected, parse

TARGET_MS = 50.0

SAMPLES = [
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Castellanos;Lucía;;;\r\nFN:Lucía Castellanos\r\n"
    "ORG:Meridian;Data\r\nTEL;TYPE=WORK,PREF:+1 415 555 0132\r\n"
    "EMAIL:lucia@example.com\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BC"
    "ller;J=C3=BCrgen\r\nTEL;WORK;VOICE:+49 30 555 0100\r\nEND:VCARD\r\n",
    "MECARD:N:Lindqvist,Astrid;TEL:+12125550163;EMAIL:astrid@example.com;;",
    "BIZCARD:N:Tomasz;X:Nowak;C:Vistula;B:+12125550172;E:tomasz@example.com;;",
    "MATMSG:TO:omar@example.com;SUB:Hi;BODY:Call me;;",
    "mailto:jo+booth@example.com?subject=Hi",
    "tel:+1-718-555-0126;ext=12",
    "https://card.example.com/p/ines?utm_source=qr",
    "004417920031",
    '{"attendeeId": "A-1", "firstName": "Bea", "email": "bea@example.org"}',
    "Reach me at jo@example.com or +1 415 555 0132.",
    "Welcome to Booth 42! Spin the wheel to win.",
]


def _size(rng: random.Random) -> int:
    return rng.choice([64, 512, 2048, MAX_PAYLOAD_BYTES // 2, MAX_PAYLOAD_BYTES - 16])


def _random_text(rng: random.Random) -> str:
    alphabet = string.printable + 'éü日本;:,\\"=@+'
    return "".join(rng.choice(alphabet) for _ in range(_size(rng) // 2))


def _vcard_noise(rng: random.Random) -> str:
    names = ["N", "FN", "TEL", "EMAIL", "ORG", "ADR", "NOTE", "PHOTO", "item1.URL"]
    params = ["", ";TYPE=PREF", ";ENCODING=QUOTED-PRINTABLE", ';X="a:b"', ";WORK"]
    lines = ["BEGIN:VCARD", "VERSION:3.0"]
    budget = _size(rng) - 40
    while budget > 0:
        value = "".join(rng.choice("ab;,\\:=1 @.") for _ in range(rng.randint(0, 40)))
        line = f"{rng.choice(names)}{rng.choice(params)}:{value}"
        lines.append(line)
        budget -= len(line) + 2
    return "\r\n".join(lines)


def _mecard_noise(rng: random.Random) -> str:
    keys = ["N", "TEL", "EMAIL", "ADR", "NOTE", "URL", "X", "B", "TO", "BODY"]
    prefix = rng.choice(["MECARD:", "BIZCARD:", "MATMSG:", "MEBKM:"])
    parts = []
    budget = _size(rng) - 10
    while budget > 0:
        value = "".join(rng.choice("ab,\\:1 +@.") for _ in range(rng.randint(0, 30)))
        part = f"{rng.choice(keys)}:{value}"
        parts.append(part)
        budget -= len(part) + 1
    return prefix + ";".join(parts)


def _binary(rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(_size(rng)))


def _oversized(rng: random.Random) -> str:
    return "BEGIN:VCARD\r\nNOTE:" + "A" * rng.randint(MAX_PAYLOAD_BYTES, 40_000)


def _worst_cases() -> list[str | bytes]:
    """Hand-made payloads near 8 KiB aimed at each reader's loops."""
    limit = MAX_PAYLOAD_BYTES - 64
    head = "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    return [
        head + "NOTE;ENCODING=QUOTED-PRINTABLE:" + "=41=\r\n" * (limit // 7),
        head + "NOTE:x\r\n" + " y\r\n" * (limit // 4),
        head + "EMAIL:a@example.com\r\n" * (limit // 21),
        head + "TEL:+1 415 555 0132\r\n" * (limit // 21),
        head + "N" + ';X="' * (limit // 4) + ":a",
        head + "FN:" + "Jo " * (limit // 3),
        head + "FN:" + "Jo " * 85,
        '{"name": "' + "Dr. Jo " * 36 + '"}',
        head + "ADR:" + "\\;" * (limit // 2),
        "X:1\r\n" * (limit // 5),
        "MECARD:" + "TEL:2125550170;" * (limit // 15),
        "MECARD:N:" + "\\," * (limit // 2),
        "mailto:" + "a@example.com," * (limit // 14),
        "{" * limit,
        '{"a":' * (limit // 5),
        "1" * limit,
        "+1 415 555 0132 " * (limit // 16),
        "a@b " * (limit // 4),
        "@" * limit,
        ";" * limit,
        "a," * (limit // 2),
        '"' * limit,
        "https://example.com/?" + "a=1&" * (limit // 4),
        "tel:" + "1;" * (limit // 2),
        # A long parameter list, then one quoted-printable soft break a line.
        "BEGIN:VCARD\nNOTE;ENCODING=QUOTED-PRINTABLE;X-A="
        + "a" * (limit // 2)
        + ":="
        + "\n=" * (limit // 4),
        "BEGIN:VCARD\nEMAIL:jo@example.com\nNOTE;QUOTED-PRINTABLE;X-A="
        + "a" * (limit // 2)
        + ":="
        + "\n=" * (limit // 4 - 16),
        head + 'N;X="' + "\r\n =" * (limit // 4),
        "Tel: +1 415 555 0132 " * (limit // 21),
        "call +1 415 555 0132, or email jo@example.com; " * (limit // 48),
        "Email:jo@example.com " * (limit // 21),
        "\u202eeoD " * (limit // 15),
        head + "FN:" + "Jo (x) " * (limit // 7),
        '"a\n' * (limit // 3),
        "2024-05-01," * (limit // 11),
        "(415) 555-0132 x12;" * (limit // 19),
    ]


GENERATORS: dict[str, Callable[[random.Random], str | bytes]] = {
    "random text": _random_text,
    "vCard noise": _vcard_noise,
    "MECARD noise": _mecard_noise,
    "binary": _binary,
    "oversized": _oversized,
}


def _payloads(count: int, seed: int) -> Iterator[tuple[str, list[str | bytes]]]:
    rng = random.Random(seed)
    yield "samples", [SAMPLES[i % len(SAMPLES)] for i in range(count)]
    for kind, generate in GENERATORS.items():
        yield kind, [generate(rng) for _ in range(count)]
    yield "worst cases", _worst_cases() * max(1, count // 20)


def _time_ms(payload: str | bytes) -> float:
    start = time.perf_counter()
    try:
        parse(payload)
    except PayloadRejected:
        pass
    return (time.perf_counter() - start) * 1000


def _size_bytes(payload: str | bytes) -> int:
    return len(payload if isinstance(payload, bytes) else payload.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400, help="payloads per kind")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--json", action="store_true", help="print JSON, not a table")
    args = parser.parse_args()

    rows = []
    missed = 0
    for kind, payloads in _payloads(args.count, args.seed):
        for payload in payloads[:5]:
            _time_ms(payload)
        times = [_time_ms(payload) for payload in payloads]
        in_limit = [
            t for t, p in zip(times, payloads, strict=True)
            if _size_bytes(p) <= MAX_PAYLOAD_BYTES
        ]  # fmt: skip
        missed += sum(1 for t in in_limit if t >= TARGET_MS)
        p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else times[0]
        rows.append(
            {
                "kind": kind,
                "count": len(times),
                "p50_ms": round(statistics.median(times), 3),
                "p99_ms": round(p99, 3),
                "max_ms": round(max(times), 3),
            }
        )
    if args.json:
        print(json.dumps({"rows": rows, "missed_target": missed}))
    else:
        print(f"{'kind':<14} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for row in rows:
            print(
                f"{row['kind']:<14} {row['count']:>6} {row['p50_ms']:>8.3f} "
                f"{row['p99_ms']:>8.3f} {row['max_ms']:>8.3f}"
            )
        overall = max(row["max_ms"] for row in rows)
        print(f"max over all kinds: {overall:.3f} ms; target {TARGET_MS:.0f} ms; "
              f"payloads up to 8 KiB over target: {missed}")  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
