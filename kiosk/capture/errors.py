"""Errors raised by camera sources."""

from __future__ import annotations

from kiosk.errors import KioskError


class CameraError(KioskError):
    """A camera spec is invalid, or a camera cannot be opened or stopped delivering."""
