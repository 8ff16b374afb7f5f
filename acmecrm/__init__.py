"""AcmeCRM: a stand-in CRM server with its own field names, for tests and demos."""
