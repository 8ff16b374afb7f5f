"""Errors raised by camera sources and image reading."""

from __future__ import annotations

from kiosk.errors import KioskError


class CameraError(KioskError):
    """A camera spec is invalid, or a camera cannot be opened or stopped delivering."""


class ImageReadError(KioskError):
    """An image file cannot be decoded, or is too large to decode.

    Attributes:
        code: ``"image_not_found"``, ``"unreadable_image"`` or ``"image_too_large"``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
