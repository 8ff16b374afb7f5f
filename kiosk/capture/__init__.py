"""Camera sources, the QR decoder chain, de-duplication and the capture loop (no Qt)."""
