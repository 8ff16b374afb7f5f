"""The lead store: save a lead with its outbox row, find duplicates, list and search.

Every method runs its own transaction (one unit of work) and returns plain frozen
dataclasses, so one :class:`LeadStore` can serve several threads at once while no ORM
object crosses a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from kiosk.store import fields as lead_fields
from kiosk.store import revisions
from kiosk.store.batch import NewLead as NewLead
from kiosk.store.batch import SavedLead as SavedLead
from kiosk.store.batch import insert_new_leads
from kiosk.store.engine import create_store_engine, migrate_all
from kiosk.store.models import Lead
from kiosk.store.queries import (
    count_leads_in_common_state,
    is_rare_state,
    last_synced_value,
    latest_outbox_value,
    lead_filter,
    search_terms,
)
from kiosk.store.records import NO_OUTBOX_ROW, lead_row, lead_summary
from kiosk.store.records import LeadNotFound as LeadNotFound
from kiosk.store.records import LeadRecord as LeadRecord
from kiosk.store.records import LeadRow as LeadRow
from kiosk.store.records import LeadSummary as LeadSummary
from kiosk.store.revisions import LeadChange, RevisionReport
from sync_daemon.db import BEGIN_OPTION

logger = logging.getLogger(__name__)

FEW_MATCHES = 5000
"""Searches with at most this many matches are paged from the search index."""


class LeadStore:
    """The leads of one database, safe to share between threads.

    Each call runs its own transaction on its own connection.

    Attributes:
        engine: the shared engine (writers begin with ``BEGIN IMMEDIATE`` on SQLite).
        url: the SQLAlchemy URL the store was opened with.
    """

    def __init__(self, engine: Engine, url: str = "") -> None:
        self.engine = engine
        self.url = url
        reader_engine = engine.execution_options(**{BEGIN_OPTION: "DEFERRED"})
        self._reader = sessionmaker(bind=reader_engine)

    def close(self) -> None:
        """Close every pooled connection; the store must not be used afterwards."""
        self.engine.dispose()

    def save_lead(
        self,
        fields: Mapping[str, Any],
        *,
        lead_id: str | None = None,
        payload_text: str = "",
    ) -> SavedLead:
        """Save a lead and its outbox row in one transaction, committed durably.

        Args:
            fields: lead fields by name. A new lead gets empty values for the fields
                left out; an update keeps the previous values of the fields left out.
            lead_id: the lead to update with a new revision; None saves a new lead.
            payload_text: the QR payload the lead came from, kept as a hash so the
                same payload scanned again is found by :meth:`find_duplicate`.

        Raises:
            LeadNotFound: ``lead_id`` names no lead.
            ValueError: an unknown field name or an invalid rating.
        """
        with self.engine.begin() as connection:
            if lead_id is None:
                new_lead = NewLead(fields=fields, payload_text=payload_text)
                saved = insert_new_leads(connection, [new_lead])[0]
            else:
                saved = _save_revision(connection, lead_id, fields, payload_text)
        logger.debug("Saved lead %s revision %d", saved.lead_id, saved.revision)
        return saved

    def save_many(self, leads: Sequence[NewLead]) -> list[SavedLead]:
        """Save several new leads, each with its outbox row, in one transaction.

        The rows are written with one multi-row INSERT a table, many times faster
        than calling :meth:`save_lead` for each lead.
        """
        if not leads:
            return []
        with self.engine.begin() as connection:
            saved = insert_new_leads(connection, leads)
        logger.debug("Saved %d leads in one transaction", len(saved))
        return saved

    def save_revisions(self, changes: Sequence[LeadChange]) -> RevisionReport:
        """Merge changes into their visitors' leads, or save them as new leads.

        One write transaction (``BEGIN IMMEDIATE`` on SQLite) looks the stored
        leads up by lead id, case-folded email or badge id, then writes a new
        revision of each lead whose values changed and the new leads, each with
        its outbox row. A scan saving the same visitor meanwhile waits for the
        write lock, so it cannot add a second lead between the lookup and the
        write. See :mod:`kiosk.store.revisions` for how changes merge.

        Raises:
            ValueError: a change has an unknown field name or an invalid rating;
                nothing is saved then.
        """
        if not changes:
            return RevisionReport(0, 0, 0)
        with self.engine.begin() as connection:
            report = revisions.save_revisions(connection, changes)
        logger.debug(
            "Merged %d changes: %d new leads, %d updated, %d unchanged",
            len(changes),
            report.created,
            report.updated,
            report.unchanged,
        )
        return report

    def find_duplicate(
        self, *, email: str = "", badge_id: str = "", payload_text: str = ""
    ) -> LeadSummary | None:
        """Find a returning visitor's lead by email, else badge id, else payload text.

        The email is compared case-folded, the payload text exactly. Empty keys are
        skipped, and the newest matching lead wins.
        """
        keys = (
            ("email", Lead.email_key, lead_fields.email_key(email)),
            ("badge_id", Lead.badge_id, badge_id.strip()),
            ("payload", Lead.payload_key, lead_fields.payload_key(payload_text)),
        )
        with self._reader() as session:
            for matched_on, column, value in keys:
                if not value:
                    continue
                query = (
                    select(Lead)
                    .where(column == value)
                    .order_by(Lead.captured_at.desc())
                    .limit(1)
                )
                lead = session.scalars(query).first()
                if lead is not None:
                    return lead_summary(lead, matched_on)
        return None

    def get_lead(self, lead_id: str) -> LeadRecord:
        """Return a lead with its sync state.

        Raises:
            LeadNotFound: no lead has this id.
        """
        query = select(
            Lead,
            latest_outbox_value("state"),
            latest_outbox_value("last_error"),
            last_synced_value("crm_id"),
            last_synced_value("synced_at"),
        ).where(Lead.id == lead_id)
        with self._reader() as session:
            row = session.execute(query).first()
        if row is None:
            raise LeadNotFound(lead_id)
        lead, state, last_error, crm_id, synced_at = row
        return LeadRecord(
            lead_id=lead.id,
            fields=lead_fields.merge_fields(lead.fields, {}),
            revision=lead.revision,
            captured_at=lead.captured_at,
            updated_at=lead.updated_at,
            sync_state=state or NO_OUTBOX_ROW,
            crm_id=crm_id,
            last_error=last_error or "",
            synced_at=synced_at,
        )

    def list_leads(
        self,
        search: str = "",
        state: str | None = None,
        offset: int = 0,
        limit: int = 200,
    ) -> list[LeadRow]:
        """Return one page of leads, newest first.

        Args:
            search: words that must each occur in the name, email or company
                (case-insensitive substring match).
            state: only leads whose newest revision is in this outbox state.
            offset: leads to skip, for fetching the next page.
            limit: the page size.
        """
        query = (
            select(
                Lead.id,
                Lead.revision,
                Lead.captured_at,
                Lead.updated_at,
                Lead.first_name,
                Lead.last_name,
                Lead.email,
                Lead.phone,
                Lead.company,
                Lead.title,
                Lead.rating,
                latest_outbox_value("state"),
                latest_outbox_value("last_error"),
                last_synced_value("crm_id"),
            )
            .order_by(Lead.captured_at.desc(), Lead.id.desc())
            .limit(limit)
        )
        with self._reader() as session:
            rare = bool(state) and is_rare_state(session, str(state))
            where = lead_filter(search, state, state_is_rare=rare)
            page_ids = _page_of_few_matches(session, search, where, offset, limit)
            if page_ids == []:
                return []
            if page_ids is None:
                query = query.where(where).offset(offset)
            else:
                query = query.where(Lead.id.in_(page_ids))
            rows = session.execute(query).all()
        return [lead_row(row) for row in rows]

    def count_leads(self, search: str = "", state: str | None = None) -> int:
        """Count the leads :meth:`list_leads` would return over all its pages.

        A state most leads are in (``synced``, usually) is counted by its complement
        when there is no search (see :func:`count_leads_in_common_state`).
        """
        with self._reader() as session:
            rare = bool(state) and is_rare_state(session, str(state))
            if state and not rare and not search_terms(search):
                return count_leads_in_common_state(session, state)
            where = lead_filter(search, state, state_is_rare=rare)
            query = select(func.count()).select_from(Lead).where(where)
            return int(session.execute(query).scalar_one())

    def lead_ids(self) -> list[str]:
        """Return the id of every lead, oldest first."""
        query = select(Lead.id).order_by(Lead.captured_at, Lead.id)
        with self._reader() as session:
            return list(session.scalars(query))

    def reader_session(self) -> Session:
        """Return a new read-only Session (no write lock); the caller closes it."""
        return self._reader()


def open_store(url: str) -> LeadStore:
    """Open (and create or upgrade) the kiosk's database at ``url``.

    A new SQLite file is created with mode 0600. The kiosk's migrations run first, then
    the outbox's, each recorded in its own alembic version table.
    """
    engine = create_store_engine(url)
    try:
        migrate_all(engine)
    except Exception:
        engine.dispose()
        raise
    logger.info("Opened the lead store")
    return LeadStore(engine, url)


def _save_revision(
    connection: Connection,
    lead_id: str,
    changes: Mapping[str, Any],
    payload_text: str,
) -> SavedLead:
    stored = revisions.read_stored_lead(connection, lead_id)
    if stored is None:
        raise LeadNotFound(lead_id)
    payload_key = stored.payload_key
    if payload_text:
        payload_key = lead_fields.payload_key(payload_text)
    merged = lead_fields.merge_fields(stored.fields, changes)
    revision = revisions.Revision(lead_id, stored.revision + 1, merged, payload_key)
    (outbox_id,) = revisions.write_revisions(connection, [revision])
    return SavedLead(lead_id, revision.revision, stored.captured_at, outbox_id)


def _page_of_few_matches(
    session: Session,
    search: str,
    where: ColumnElement[bool],
    offset: int,
    limit: int,
) -> list[str] | None:
    """Return the ids of one page of a search with few matches, or None if it has many.

    Walking the leads newest first and testing each one is fast when matches are
    common (a page fills early) and slow when they are rare (every lead is tested
    through a table lookup). For a search this reads the keys of up to FEW_MATCHES + 1
    matches from the covering search index instead, and the database sorts them. The
    inner LIMIT keeps the subquery from being merged into the outer query, so the
    planner cannot switch back to walking the ``captured_at`` index.
    """
    if not search_terms(search):
        return None
    keys = (
        select(Lead.captured_at, Lead.id)
        .where(where)
        .limit(FEW_MATCHES + 1)
        .subquery("matches")
    )
    query = (
        select(keys.c.id, func.count().over())
        .order_by(keys.c.captured_at.desc(), keys.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    rows = session.execute(query).all()
    if not rows:
        if offset == 0:
            return []
        # A page past the end: count the matches to choose the strategy.
        matches = session.execute(select(func.count()).select_from(keys)).scalar_one()
        return [] if matches <= FEW_MATCHES else None
    if rows[0][1] > FEW_MATCHES:
        return None
    return [lead_id for lead_id, _ in rows]
