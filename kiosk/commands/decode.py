"""``kiosk decode``: decode the QR codes in image files, one JSON line an image.

Each line is ``{file, codes, payload, contact, error}``. ``file`` is the argument
exactly as given. ``codes`` lists every code read (text, decoder, raw bytes in hex,
corners, text_error). ``payload`` is the first code's text or null, ``contact`` is what
``kiosk parse`` prints for it or null, and ``error`` is ``{code, message}`` or null.
Every image runs the whole decoder chain, fallbacks included, with no de-duplication.

Exit status: 0, or 1 when an image cannot be read or decoding it fails. That image's
line then has an error whose code is ``image_not_found``, ``unreadable_image`` or
``image_too_large``, and the remaining images are still decoded.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.capture.decoders import DecoderChain
    from kiosk.capture.types import DecodedCode
    from kiosk.config import Config

log = logging.getLogger(__name__)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_warned_no_parser: list[bool] = []  # non-empty once the missing parser was logged


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    parser.add_argument(
        "images", nargs="+", metavar="IMAGE", help="image files to decode"
    )


def run(args: argparse.Namespace) -> int:
    """Decode each image and print its JSON line; return 1 if any image was unreadable.

    Raises:
        ConfigError: the ``--config`` file is missing or invalid (exit status 1).
    """
    from kiosk.capture.decoders import DecoderChain
    from kiosk.config import load_config

    config = load_config(args.config)
    chain = DecoderChain()
    status = 0
    for name in args.images:
        line, readable = decode_image_file(name, chain, config)
        _print_json(line)
        if not readable:
            status = 1
    return status


def decode_image_file(
    name: str, chain: DecoderChain, config: Config | None = None
) -> tuple[dict[str, Any], bool]:
    """Decode one image file and build its output line.

    Returns:
        The JSON-ready line, and whether the image could be read.
    """
    from kiosk.capture.errors import ImageReadError
    from kiosk.capture.imaging import load_image

    line: dict[str, Any] = {
        "file": name,
        "codes": [],
        "payload": None,
        "contact": None,
        "error": None,
    }
    try:
        image = load_image(name)
    except ImageReadError as exc:
        line["error"] = {"code": exc.code, "message": exc.message}
        return line, False
    try:
        codes = chain.decode_still(image)
    except Exception as exc:
        # Any decoder failure is caught so that one bad image cannot stop the batch.
        log.debug("Decoding failed", exc_info=True)
        line["error"] = {
            "code": "unreadable_image",
            "message": f"Decoding this image failed ({_last_line(exc)}). Save it "
            "again as PNG or JPEG and retry.",
        }
        return line, False
    line["codes"] = [_code_json(code) for code in codes]
    if not codes:
        line["error"] = {
            "code": "no_code_found",
            "message": "No QR code was found in this image. Retake it closer, sharper "
            "or with less glare.",
        }
    elif codes[0].text_error:
        line["error"] = {
            "code": "undecodable_text",
            "message": f"The code was read but its text cannot be decoded: "
            f"{codes[0].text_error}.",
        }
    else:
        line["payload"] = codes[0].text
        line["contact"], line["error"] = _parse_contact(codes[0].text, config)
    return line, True


def _last_line(exc: BaseException) -> str:
    """Return the last line of an exception's message (OpenCV's are multi-line)."""
    lines = str(exc).strip().splitlines()
    return (lines[-1] if lines else type(exc).__name__)[:200]


def _code_json(code: DecodedCode) -> dict[str, Any]:
    return {
        "text": code.text,
        "decoder": code.decoder,
        "raw_hex": code.raw.hex(),
        "corners": [[round(x, 1), round(y, 1)] for x, y in code.corners],
        "text_error": code.text_error or None,
    }


def _parse_contact(
    payload: str, config: Config | None
) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    try:
        from kiosk.contacts import PayloadRejected, parse
    except ImportError as exc:
        if not _warned_no_parser:
            _warned_no_parser.append(True)
            log.warning(
                "Contact parsing is not available (%s); printing payloads only", exc
            )
        return None, None
    try:
        contact = parse(payload, config)
    except PayloadRejected as rejection:
        return None, {"code": rejection.code, "message": rejection.message}
    result: dict[str, Any] = contact.to_json_dict()
    return result, None


def _print_json(data: dict[str, Any]) -> None:
    # Written as UTF-8 bytes, so a C or ASCII locale cannot break non-ASCII names.
    text = json.dumps(data, ensure_ascii=False) + "\n"
    # A file name that is not valid UTF-8 arrives with lone surrogates (Python's
    # surrogateescape), which UTF-8 cannot encode. JSON's \\uDCxx escape keeps the
    # line valid, and os.fsencode(json.loads(line)["file"]) restores the name.
    text = _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()
