"""Lead storage: SQLAlchemy models, engine setup and migrations. No Qt here."""
