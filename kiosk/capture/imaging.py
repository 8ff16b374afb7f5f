"""Small helpers for OpenCV images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import PIL.Image

from kiosk.capture.types import Image


def as_image(array: Any) -> Image:
    """Return ``array`` (an OpenCV result) typed as a uint8 image, without copying."""
    return np.asarray(array, dtype=np.uint8)


def read_image(path: str | Path) -> Image | None:
    """Read an image file as BGR, or return ``None`` when it is not a readable image.

    OpenCV reads most files; Pillow reads the few it rejects, such as 1-pixel WebP.
    """
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is not None:
        return as_image(image)
    try:
        with PIL.Image.open(path) as opened:
            rgb = np.asarray(opened.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, PIL.Image.DecompressionBombError):
        return None
    return as_image(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
