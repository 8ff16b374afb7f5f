"""Migration scripts of the kiosk's tables, applied in revision order."""
