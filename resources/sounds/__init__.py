"""Sounds the kiosk plays: ``beep.wav``, a 120 ms 1320 Hz tone after a scan."""
