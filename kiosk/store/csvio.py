"""CSV import and export of leads, streaming, with progress callbacks for the GUI.

Import (:mod:`kiosk.store.csv_import`): a header row of lead field names, UTF-8 with
or without a byte order mark. A row merges into the lead of the same visitor, found
like a scan finds one: by the ``lead_id`` column of an export when that lead exists,
else by case-folded email, else by badge id. A merged lead gets a new revision only
when a cell changed a value, and an empty cell never clears one. Other rows become new
leads. Each new lead or revision is queued for sync, ``batch_size`` rows a
transaction. Each bad row is reported with its line number and the reason.

Export (:mod:`kiosk.store.csv_export`): UTF-8 with a byte order mark (so spreadsheet
programs detect UTF-8) and the columns of :data:`EXPORT_COLUMNS`. Leads come oldest
first, the leads of one import in file order. They are read in pages, so memory use
does not grow with their number.

This module re-exports the public names of the modules that implement both.
"""

from __future__ import annotations

from kiosk.store.csv_cells import (
    FORMULA_PREFIXES,
    ProgressCallback,
    escape_cell,
    unescape_cell,
)
from kiosk.store.csv_export import (
    EXPORT_COLUMNS,
    ExportReport,
    export_csv,
)
from kiosk.store.csv_import import (
    DEFAULT_BATCH_SIZE,
    CsvImportError,
    ImportReport,
    RejectedRow,
    import_csv,
)
from kiosk.store.csv_records import MAX_CELL_CHARS, CsvFormatError
from kiosk.store.csv_rows import IMPORT_COLUMNS
from kiosk.store.csv_store import open_csv_store
from kiosk.store.revisions import LOOKUP_CHUNK

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "EXPORT_COLUMNS",
    "FORMULA_PREFIXES",
    "IMPORT_COLUMNS",
    "LOOKUP_CHUNK",
    "MAX_CELL_CHARS",
    "CsvFormatError",
    "CsvImportError",
    "ExportReport",
    "ImportReport",
    "ProgressCallback",
    "RejectedRow",
    "escape_cell",
    "export_csv",
    "import_csv",
    "open_csv_store",
    "unescape_cell",
]
