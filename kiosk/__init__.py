"""Lead-capture kiosk for event booths."""

__version__ = "0.1.0"
