"""Small helpers for OpenCV images."""

from __future__ import annotations

from typing import Any

import numpy as np

from kiosk.capture.types import Image


def as_image(array: Any) -> Image:
    """Return ``array`` (an OpenCV result) typed as a uint8 image, without copying."""
    return np.asarray(array, dtype=np.uint8)
