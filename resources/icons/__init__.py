"""Icons of the kiosk window, as SVG files."""
