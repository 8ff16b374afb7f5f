"""A table model over the lead store that loads rows a page at a time."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from kiosk.gui.staff.reasons import plain_reason, state_label
from kiosk.store import LeadNotFound

logger = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Name", "Email", "Company", "Captured", "Sync state", "Reason")
NAME, EMAIL, COMPANY, CAPTURED, STATE, REASON = range(len(COLUMNS))
LEAD_ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2

_STATE_COLOURS = {
    "needs_attention": QColor("#b3261e"),
    "retry_wait": QColor("#8a5a00"),
    "synced": QColor("#1e6b32"),
}


def _field(row: Any, name: str, default: Any = "") -> Any:
    value = getattr(row, name, default)
    return default if value is None else value


class LeadTableModel(QAbstractTableModel):
    """Leads matching a search and a sync-state filter, fetched lazily in pages.

    Views call :meth:`canFetchMore` and :meth:`fetchMore` as the user scrolls, so
    opening the list costs one page query whatever the number of leads. Every cell is
    plain text: payload-derived values are never interpreted as markup by item views.
    """

    def __init__(self, store: Any, page_size: int = 200, parent: Any = None) -> None:
        super().__init__(parent)
        self._store = store
        self._page_size = page_size
        self._search = ""
        self._state: str | None = None
        self._rows: list[Any] = []
        self._exhausted = False
        # Identifiers read from the full lead, for rows with no name, email or phone.
        self._stored_identifiers: dict[tuple[str, int], str] = {}

    # Qt model interface

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._cell_text(row, index.column())
        if role == LEAD_ID_ROLE:
            return str(_field(row, "lead_id"))
        if role == STATE_ROLE:
            return _field(row, "sync_state", None)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == STATE:
            colour = _STATE_COLOURS.get(_field(row, "sync_state"))
            return QBrush(colour) if colour is not None else None
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted:
            return
        page = self._query(len(self._rows), self._page_size)
        if len(page) < self._page_size:
            self._exhausted = True
        if not page:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    # Filters and refresh

    @property
    def search(self) -> str:
        """The current search text (name, email or company)."""
        return self._search

    @property
    def state_filter(self) -> str | None:
        """The outbox state shown, or None for every lead."""
        return self._state

    def set_filter(self, search: str = "", state: str | None = None) -> None:
        """Show the leads matching ``search`` and ``state`` from the first page on."""
        self.beginResetModel()
        self._search = search.strip()
        self._state = state or None
        self._rows = []
        self._exhausted = False
        self.endResetModel()
        self.fetchMore()

    def refresh(self) -> None:
        """Reload the rows already shown, so states and reasons are current.

        Rows keep their positions when the same leads come back. When a new lead was
        captured in between, the model is reset to the same number of rows.
        """
        count = max(len(self._rows), self._page_size)
        rows = self._query(0, count)
        old_ids = [_field(row, "lead_id") for row in self._rows]
        new_ids = [_field(row, "lead_id") for row in rows[: len(self._rows)]]
        if old_ids and old_ids == new_ids and len(rows) == len(self._rows):
            self._rows = rows
            last = self.index(len(rows) - 1, len(COLUMNS) - 1)
            self.dataChanged.emit(self.index(0, 0), last)
            return
        self.beginResetModel()
        self._rows = rows
        self._exhausted = len(rows) < count
        self.endResetModel()

    def total_count(self) -> int:
        """Count every lead matching the current filters, loaded or not."""
        return int(self._store.count_leads(search=self._search, state=self._state))

    def lead_id(self, row: int) -> str:
        """Return the lead id shown on ``row``."""
        return str(_field(self._rows[row], "lead_id"))

    def sync_state(self, row: int) -> str | None:
        """Return the outbox state of the lead shown on ``row``."""
        state = _field(self._rows[row], "sync_state", None)
        return None if state is None else str(state)

    def _query(self, offset: int, limit: int) -> list[Any]:
        return list(
            self._store.list_leads(
                search=self._search, state=self._state, offset=offset, limit=limit
            )
        )

    def _cell_text(self, row: Any, column: int) -> str:
        if column == NAME:
            return self._identifier(row)
        if column == EMAIL:
            return str(_field(row, "email"))
        if column == COMPANY:
            return str(_field(row, "company"))
        if column == CAPTURED:
            return _format_time(_field(row, "captured_at", None))
        state = _field(row, "sync_state", None)
        if column == STATE:
            return state_label(state)
        return plain_reason(state, _field(row, "last_error", None))

    def _identifier(self, row: Any) -> str:
        """Return the best identifier of a lead: name, email, phone, badge id or URL.

        Rows do not carry the badge id or profile URL, so those come from the full
        lead, read once per lead revision and only when the row has nothing else.
        """
        first = str(_field(row, "first_name"))
        last = str(_field(row, "last_name"))
        name = f"{first} {last}".strip()
        if name:
            return name
        for field in ("email", "phone", "badge_id", "profile_url"):
            value = str(_field(row, field)).strip()
            if value:
                return value
        key = (str(_field(row, "lead_id")), int(_field(row, "revision", 0)))
        if key not in self._stored_identifiers:
            self._stored_identifiers[key] = self._stored_identifier(key[0])
        return self._stored_identifiers[key]

    def _stored_identifier(self, lead_id: str) -> str:
        try:
            fields = self._store.get_lead(lead_id).fields
        except LeadNotFound:
            logger.debug("Lead %s vanished before its row was shown", lead_id)
            return ""
        for field in ("badge_id", "profile_url"):
            value = str(fields.get(field) or "").strip()
            if value:
                return value
        return ""


def _format_time(value: Any) -> str:
    if isinstance(value, datetime):
        moment: datetime = value
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)
