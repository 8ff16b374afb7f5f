"""QR decoding with zbar in binary mode, through pyzbar's ctypes bindings.

pyzbar 0.1.9 has no way to turn on zbar's binary mode and its ``ZBarConfig`` enum
predates it, so this module drives the scanner through ``pyzbar.wrapper`` itself. zbar
0.23 numbers ``ZBAR_CFG_BINARY`` 4 (pyzbar calls that value ``CFG_NUM``). In binary
mode zbar returns the payload bytes instead of text in an encoding it guessed.

zbar is optional at run time: when the shared library is missing, :func:`zbar_available`
returns ``False`` and one warning is logged.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from typing import Any

import numpy as np

from kiosk.capture.types import Image

log = logging.getLogger(__name__)

ZBAR_QRCODE = 64
ZBAR_NONE = 0
ZBAR_CFG_ENABLE = 0
ZBAR_CFG_BINARY = 4
_FOURCC_Y800 = 0x30303859  # "Y800": 8-bit grey

_lock = threading.Lock()
_wrapper: Any = None
_load_failed = False


def zbar_available() -> bool:
    """Load the zbar library on first use; log one warning if it is missing."""
    global _wrapper, _load_failed
    with _lock:
        if _wrapper is not None or _load_failed:
            return _wrapper is not None
        try:
            import pyzbar.wrapper as wrapper

            wrapper.load_libzbar()
        except (ImportError, OSError) as exc:
            _load_failed = True
            log.warning(
                "zbar is not available (%s); QR decoding continues without it. "
                "Install libzbar0 to add it as a fallback decoder.",
                exc,
            )
            return False
        _wrapper = wrapper
        return True


def zbar_scan(grey: Image) -> list[tuple[bytes, tuple[tuple[float, float], ...]]]:
    """Find QR codes in a grey image with zbar in binary mode.

    Returns:
        For each code, its payload bytes and its corner points (may be empty);
        an empty list when zbar is not available.
    """
    if not zbar_available():
        return []
    w = _wrapper
    pixels = np.ascontiguousarray(grey, dtype=np.uint8)
    height, width = pixels.shape[:2]
    data = pixels.tobytes()
    scanner = w.zbar_image_scanner_create()
    if not scanner:
        raise MemoryError("zbar could not create an image scanner")
    try:
        w.zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0)
        w.zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1)
        w.zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1)
        return _scan_image(scanner, data, width, height)
    finally:
        w.zbar_image_scanner_destroy(scanner)


def _scan_image(
    scanner: Any, data: bytes, width: int, height: int
) -> list[tuple[bytes, tuple[tuple[float, float], ...]]]:
    w = _wrapper
    image = w.zbar_image_create()
    if not image:
        raise MemoryError("zbar could not create an image")
    try:
        w.zbar_image_set_format(image, _FOURCC_Y800)
        w.zbar_image_set_size(image, width, height)
        w.zbar_image_set_data(
            image,
            ctypes.cast(data, ctypes.c_void_p),  # type: ignore[arg-type]
            len(data),
            None,
        )
        if w.zbar_scan_image(scanner, image) < 0:
            return []
        return _symbols(image)
    finally:
        w.zbar_image_destroy(image)


def _symbols(image: Any) -> list[tuple[bytes, tuple[tuple[float, float], ...]]]:
    w = _wrapper
    found = []
    symbol = w.zbar_image_first_symbol(image)
    while symbol:
        if symbol.contents.type == ZBAR_QRCODE:
            raw = ctypes.string_at(
                w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol)
            )
            points = tuple(
                (
                    float(w.zbar_symbol_get_loc_x(symbol, index)),
                    float(w.zbar_symbol_get_loc_y(symbol, index)),
                )
                for index in range(w.zbar_symbol_get_loc_size(symbol))
            )
            found.append((raw, points))
        symbol = w.zbar_symbol_next(symbol)
    return found
