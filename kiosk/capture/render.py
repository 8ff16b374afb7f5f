"""QR images generated with the ``qrcode`` package: plain PNGs and camera-like frames.

The demo source, the burst and the tests use these, so every image is deterministic
for a given text and seed.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_M

from kiosk.capture.imaging import as_image
from kiosk.capture.types import Image

QUIET_ZONE_MODULES = 4


def qr_modules(text: str | bytes, *, error_correction: int = ERROR_CORRECT_M) -> Image:
    """Encode ``text`` as a QR symbol, one pixel a module, quiet zone included.

    ``str`` is stored as UTF-8 bytes without an ECI designator, as ``qrcode`` does;
    ``bytes`` are stored unchanged (e.g. Shift_JIS).

    Returns:
        A grey image, 0 for dark modules and 255 for light ones.
    """
    code = qrcode.QRCode(
        error_correction=error_correction, box_size=1, border=QUIET_ZONE_MODULES
    )
    code.add_data(text)
    code.make(fit=True)
    matrix = np.array(code.get_matrix(), dtype=bool)
    return np.where(matrix, 0, 255).astype(np.uint8)


def qr_image(text: str | bytes, code_px: int) -> Image:
    """Return a grey QR image about ``code_px`` pixels wide, quiet zone included.

    The width is rounded down to a whole number of pixels a module, so the modules
    stay sharp. A module is never less than one pixel.
    """
    modules = qr_modules(text)
    scale = max(1, code_px // modules.shape[0])
    return np.kron(modules, np.ones((scale, scale), dtype=np.uint8))


def write_qr_png(text: str | bytes, path: str | Path, *, code_px: int = 360) -> Path:
    """Write a plain QR code for ``text`` as a PNG file and return its path."""
    target = Path(path)
    # Encoded in memory because cv2.imwrite in opencv-python-headless 5.1 crashes the
    # process on a file name that is not valid UTF-8.
    ok, encoded = cv2.imencode(".png", qr_image(text, code_px))
    if not ok:
        raise OSError(f"could not encode PNG file {target}")
    target.write_bytes(encoded.tobytes())
    return target


def render_badge_frame(
    text: str | bytes,
    *,
    width: int = 1280,
    height: int = 720,
    code_px: int = 360,
    seed: int = 0,
) -> Image:
    """Render a BGR camera-like frame showing a badge that carries a QR code.

    The frame has a textured, unevenly lit background, a white badge card at a
    seed-dependent place with the code on it (``code_px`` wide, quiet zone included),
    and slight sensor noise. The same arguments always give the same frame.
    """
    frame, _ = render_badge_frame_with_box(
        text, width=width, height=height, code_px=code_px, seed=seed
    )
    return frame


def render_badge_frame_with_box(
    text: str | bytes,
    *,
    width: int = 1280,
    height: int = 720,
    code_px: int = 360,
    seed: int = 0,
) -> tuple[Image, tuple[int, int, int, int]]:
    """Render a frame as :func:`render_badge_frame` does, and the code's position.

    Returns:
        The frame and the code's box ``(left, top, width, height)`` in pixels, quiet
        zone included.
    """
    rng = np.random.default_rng(seed)
    frame = background_frame(width, height, rng)
    code = qr_image(text, code_px)
    size = code.shape[0]
    card_w = min(width, size + size // 5)
    card_h = min(height, size + size // 3)
    left = int(rng.integers(0, max(1, width - card_w + 1)))
    top = int(rng.integers(0, max(1, height - card_h + 1)))
    card_tint = rng.integers(225, 250, size=3).astype(np.uint8)
    frame[top : top + card_h, left : left + card_w] = card_tint

    code_left = left + (card_w - size) // 2
    code_top = top + (card_h - size) // 2
    visible = frame[code_top : code_top + size, code_left : code_left + size]
    shape = visible.shape[:2]
    patch = cv2.cvtColor(code[: shape[0], : shape[1]], cv2.COLOR_GRAY2BGR)
    light = patch > 128
    visible[:] = np.where(light, card_tint, rng.integers(15, 45)).astype(np.uint8)
    box = (code_left, code_top, shape[1], shape[0])
    return add_noise(frame, rng, sigma=3.0), box


def background_frame(width: int, height: int, rng: np.random.Generator) -> Image:
    """Return a BGR scene: a lighting gradient plus blurred coloured blobs."""
    small = rng.integers(40, 200, size=(9, 16, 3)).astype(np.uint8)
    # Blurring a small copy then enlarging it is much cheaper than blurring the frame.
    thumb_size = (max(1, width // 8), max(1, height // 8))
    thumb = cv2.resize(small, thumb_size, interpolation=cv2.INTER_CUBIC)
    thumb = cv2.GaussianBlur(thumb, (0, 0), sigmaX=max(thumb_size) / 80)
    gradient = np.linspace(0.7, 1.1, thumb_size[0], dtype=np.float32)[None, :, None]
    thumb = np.clip(thumb.astype(np.float32) * gradient, 0, 255).astype(np.uint8)
    return as_image(cv2.resize(thumb, (width, height), interpolation=cv2.INTER_LINEAR))


def add_noise(frame: Image, rng: np.random.Generator, *, sigma: float) -> Image:
    """Return ``frame`` with Gaussian sensor noise of ``sigma`` grey levels added."""
    noise = rng.standard_normal(size=frame.shape, dtype=np.float32) * sigma
    noisy = frame.astype(np.float32)
    noisy += noise
    return np.clip(noisy, 0, 255, out=noisy).astype(np.uint8)
