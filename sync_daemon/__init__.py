"""The outbox and the engine that pushes it to the CRM. No Qt and nothing from kiosk."""
