"""Error types shared by the kiosk's layers.

Expected conditions a person can act on (a payload that is not a contact, a camera that
cannot be opened, a bad configuration value) derive from :class:`KioskError` and carry a
message written for that person. Anything else is a bug and is left to propagate.
"""

from __future__ import annotations


class KioskError(Exception):
    """An expected failure whose message states what was wrong and what to do."""


class ConfigError(KioskError):
    """The configuration file or an environment variable contains an invalid value."""
