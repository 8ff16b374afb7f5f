"""Image helpers: typing OpenCV results and reading image files for decoding."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import PIL.Image

from kiosk.capture.errors import ImageReadError
from kiosk.capture.types import Image

MAX_DECODE_PIXELS = 16_000_000
"""Images with more pixels are downscaled to at most this many before decoding.

A 12-megapixel phone photo is decoded at full size. A blank 4000x4000 still took
2.4 s in ``DecoderChain.decode_still`` on a shared 2-core machine, against its 2 s
budget, because the stage running at the deadline is finished.
"""

MAX_IMAGE_PIXELS = 150_000_000
"""Images with more pixels are rejected as ``image_too_large`` without decoding.

It stays below Pillow's own decompression-bomb limit (178,956,970 pixels in Pillow
13.0.0), so both libraries reject the same images.
"""

MAX_FILE_BYTES = 512 * 1024 * 1024

# (factor, flag) pairs, smallest reduction first. OpenCV decodes JPEG directly at the
# reduced size but decodes other formats in full before shrinking them.
_REDUCED_COLOR = (
    (2, cv2.IMREAD_REDUCED_COLOR_2),
    (4, cv2.IMREAD_REDUCED_COLOR_4),
    (8, cv2.IMREAD_REDUCED_COLOR_8),
)

ImagePath = str | bytes | os.PathLike[str] | os.PathLike[bytes]


def as_image(array: Any) -> Image:
    """Return ``array`` (an OpenCV result) typed as a uint8 image, without copying."""
    return np.asarray(array, dtype=np.uint8)


def read_image(path: ImagePath) -> Image | None:
    """Read an image file as BGR, or return ``None`` when :func:`load_image` fails."""
    try:
        return load_image(path)
    except ImageReadError:
        return None


def load_image(path: ImagePath) -> Image:
    """Read an image file as a BGR image ready for decoding.

    The file is read as bytes and decoded in memory, because ``cv2.imread`` in
    opencv-python-headless 5.1 crashes the process on a file name that is not valid
    UTF-8. Transparent pixels are composited onto white, since QR generators often
    export dark modules on a transparent background. Images over
    :data:`MAX_DECODE_PIXELS` are downscaled, and images over
    :data:`MAX_IMAGE_PIXELS` are rejected before their pixels are decoded.

    Raises:
        ImageReadError: the file is missing, is not a readable image, or is too large.
    """
    name = os.fsdecode(path)
    try:
        if Path(name).is_dir():
            raise _unreadable(name, "it is a folder")
        if not Path(name).is_file():
            raise ImageReadError(
                "image_not_found", f"Image file {name} does not exist. Check the path."
            )
        if Path(name).stat().st_size > MAX_FILE_BYTES:
            raise _too_large(name, f"a file over {MAX_FILE_BYTES // (1024 * 1024)} MB")
        data = Path(name).read_bytes()
    except OSError as exc:
        raise _unreadable(name, exc.strerror or str(exc)) from exc
    if not data:
        raise _unreadable(name, "the file is empty")

    size, has_alpha = _header(data, name)
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise _too_large(name, f"{size[0]}x{size[1]} pixels")
    try:
        if has_alpha:
            image = _decode_with_pillow(data)
        else:
            image = _decode_with_opencv(data, size)
        if image is None:
            image = _decode_with_pillow(data)
    except (cv2.error, OSError, ValueError, MemoryError) as exc:
        raise _unreadable(name, str(exc).strip().splitlines()[-1][:200]) from exc
    if image is None:
        raise _unreadable(name, "not a supported image format")
    return _fit_for_decoding(image)


def _header(data: bytes, name: str) -> tuple[tuple[int, int] | None, bool]:
    """Return the image size and whether it has transparency, from its header only.

    The size is ``None`` for formats that Pillow does not recognize but OpenCV may.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(io.BytesIO(data)) as opened:
                alpha = opened.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                    "transparency" in opened.info
                )
                return opened.size, alpha
    except PIL.Image.DecompressionBombError as exc:
        raise _too_large(name, "rejected by Pillow's decompression-bomb check") from exc
    except (OSError, ValueError, SyntaxError):
        return None, False


def _decode_with_opencv(data: bytes, size: tuple[int, int] | None) -> Image | None:
    buffer = np.frombuffer(data, dtype=np.uint8)
    flag = cv2.IMREAD_COLOR
    if size is not None and size[0] * size[1] > MAX_DECODE_PIXELS:
        # The smallest reduction that fits, or the largest one OpenCV offers.
        for factor, reduced in _REDUCED_COLOR:
            flag = reduced
            if size[0] * size[1] <= MAX_DECODE_PIXELS * factor * factor:
                break
    image = cv2.imdecode(buffer, flag)
    return None if image is None else as_image(image)


def _decode_with_pillow(data: bytes) -> Image | None:
    """Decode with Pillow, compositing any transparency onto white.

    NOTE: Pillow decodes at full size before :func:`_fit_for_decoding` shrinks the
    result, so a transparent image near :data:`MAX_IMAGE_PIXELS` needs an estimated
    1 to 2 GB.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(io.BytesIO(data)) as opened:
                opened.load()
                rgba = opened.convert("RGBA")
    except (OSError, ValueError, SyntaxError, PIL.Image.DecompressionBombError):
        return None
    white = PIL.Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = np.asarray(PIL.Image.alpha_composite(white, rgba).convert("RGB"))
    return as_image(cv2.cvtColor(as_image(rgb), cv2.COLOR_RGB2BGR))


def _fit_for_decoding(image: Image) -> Image:
    height, width = image.shape[:2]
    pixels = height * width
    if pixels <= MAX_DECODE_PIXELS:
        return image
    scale = (MAX_DECODE_PIXELS / pixels) ** 0.5
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return as_image(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def _unreadable(name: str, reason: str) -> ImageReadError:
    return ImageReadError(
        "unreadable_image",
        f"{name} cannot be read as an image ({reason}). Use PNG, JPEG, WebP or BMP.",
    )


def _too_large(name: str, size: str) -> ImageReadError:
    return ImageReadError(
        "image_too_large",
        f"{name} is too large to decode ({size}, more than "
        f"{MAX_IMAGE_PIXELS // 1_000_000} million pixels). Crop it around the code or "
        "save it at a lower resolution.",
    )
