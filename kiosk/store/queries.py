"""Query parts shared by the lead store and the CSV export: sync state and search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, func, select, true
from sqlalchemy.orm import Session

from kiosk.store.models import Lead
from sync_daemon.outbox import STATES, SYNCED, outbox_table


def latest_outbox_value(column_name: str) -> ScalarSelect[Any]:
    """Return a correlated subquery: ``column_name`` of the lead's newest outbox row.

    The outbox index on ``(lead_id, revision)`` makes this one index seek a lead.
    """
    rows = outbox_table.alias()
    return (
        select(rows.c[column_name])
        .where(rows.c.lead_id == Lead.id)
        .order_by(rows.c.revision.desc())
        .limit(1)
        .correlate(Lead)
        .scalar_subquery()
    )


def last_synced_value(column_name: str) -> ScalarSelect[Any]:
    """Return a correlated subquery: ``column_name`` of the lead's newest synced row.

    A lead whose newest revision is still waiting keeps the CRM id of the revision
    that reached the CRM before it.
    """
    rows = outbox_table.alias()
    return (
        select(rows.c[column_name])
        .where(rows.c.lead_id == Lead.id, rows.c.state == SYNCED)
        .order_by(rows.c.revision.desc())
        .limit(1)
        .correlate(Lead)
        .scalar_subquery()
    )


def leads_in_state(state: str) -> Select[tuple[str]]:
    """Return a query of the ids of leads whose newest outbox row is in ``state``.

    It starts from the outbox's state index, so a rare state (needs_attention) costs
    little; a row counts when no newer revision of its lead exists.
    """
    return leads_in_states((state,))


def leads_in_states(states: Sequence[str]) -> Select[tuple[str]]:
    """Return a query of the ids of leads whose newest outbox row is in ``states``."""
    rows = outbox_table.alias()
    newer = outbox_table.alias()
    has_newer = (
        select(newer.c.id)
        .where(newer.c.lead_id == rows.c.lead_id, newer.c.revision > rows.c.revision)
        .exists()
    )
    return select(rows.c.lead_id).where(rows.c.state.in_(states), ~has_newer)


def count_leads_in_common_state(session: Session, state: str) -> int:
    """Count the leads whose newest outbox row is in ``state``, a common state.

    Looking up every lead's newest row takes about 0.3 s for 100,000 leads, so this
    counts the complement instead: the leads with an outbox row, less those whose
    newest row is in one of the other states of :data:`sync_daemon.outbox.STATES`.
    Both counts run on outbox indexes, and the second one reads only the rows not in
    ``state``.
    """
    with_rows = session.execute(
        select(func.count(func.distinct(outbox_table.c.lead_id)))
    ).scalar_one()
    others = [other for other in STATES if other != state]
    in_others = session.execute(
        select(func.count()).select_from(leads_in_states(others).subquery())
    ).scalar_one()
    return int(with_rows) - int(in_others)


def search_terms(search: str) -> list[str]:
    """Split a search into case-folded words; every word must match."""
    return search.casefold().split()


def lead_filter(
    search: str = "", state: str | None = None, *, state_is_rare: bool = False
) -> ColumnElement[bool]:
    """Return the WHERE clause of the lead list for a search text and a sync state.

    Each word of ``search`` must occur somewhere in the name, email or company. The
    match is a substring match over the case-folded ``search_key`` column, a full scan
    of the leads table (about 50 ms for 100,000 leads, see the store benchmark).

    Args:
        search: the words to look for.
        state: only leads whose newest outbox row is in this state.
        state_is_rare: start from the outbox's state index (fast when few rows have
            the state) instead of looking up each lead's newest row (fast when many do,
            and when a LIMIT stops the scan early).
    """
    conditions: list[ColumnElement[bool]] = [
        Lead.search_key.contains(term, autoescape=True) for term in search_terms(search)
    ]
    if state and state_is_rare:
        conditions.append(Lead.id.in_(leads_in_state(state)))
    elif state:
        conditions.append(latest_outbox_value("state") == state)
    if not conditions:
        return true()
    return and_(*conditions)


def is_rare_state(session: Session, state: str) -> bool:
    """Do fewer than a quarter of the outbox rows have this state?"""
    t = outbox_table
    in_state = session.execute(
        select(func.count()).select_from(t).where(t.c.state == state)
    ).scalar_one()
    total = session.execute(select(func.count()).select_from(t)).scalar_one()
    return bool(in_state * 4 < total)
