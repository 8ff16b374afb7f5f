"""Tests of kiosk.store."""
