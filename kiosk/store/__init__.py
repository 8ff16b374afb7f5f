"""Lead storage: SQLAlchemy models, engine setup and migrations. No Qt here."""

from kiosk.store.batch import NewLead, SavedLead
from kiosk.store.fields import LEAD_FIELDS, lead_fields_from_contact
from kiosk.store.leads import (
    LeadNotFound,
    LeadRecord,
    LeadRow,
    LeadStore,
    LeadSummary,
    open_store,
)
from kiosk.store.revisions import LeadChange, RevisionReport

__all__ = [
    "LEAD_FIELDS",
    "LeadChange",
    "LeadNotFound",
    "LeadRecord",
    "LeadRow",
    "LeadStore",
    "LeadSummary",
    "NewLead",
    "RevisionReport",
    "SavedLead",
    "lead_fields_from_contact",
    "open_store",
]
