"""Staff lead list at scale: open and search 100,000 leads, lazy model against eager.

Fills a fresh SQLite database with synthetic leads (``kiosk.store.bulk``), then times,
side by side in one run:

- opening the list: the lazy :class:`LeadTableModel` (first page only) against an
  eager model that loads every row up front, each shown in a QTableView;
- searching: the lazy model's first page against loading every match.

Run: ``python benchmarks/scale.py [--count 100000] [--repeat 5] [--json]``. Qt uses
the ``offscreen`` platform unless QT_QPA_PLATFORM says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QTableView

from kiosk.gui.staff.lead_table_model import LeadTableModel
from kiosk.store import open_store
from kiosk.store.bulk import fill_synthetic_leads

SEARCHES = ("müller", "zoë acme", "tanaka hooli", "no-such-visitor")
OPEN_LIMIT_S = 1.0
SEARCH_LIMIT_S = 0.2


def time_call(function: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Run ``function`` ``repeat`` times; return median and max in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000.0)
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


def open_lazy(app: QApplication, store: Any, search: str = "") -> QTableView:
    """Build the lazy model and a view, show the first page, return the view."""
    view = QTableView()
    model = LeadTableModel(store, parent=view)
    view.setModel(model)
    model.set_filter(search)
    view.resize(1200, 700)
    view.show()
    app.processEvents()
    return view


def open_eager(app: QApplication, store: Any, search: str = "") -> QTableView:
    """Load every matching lead at once (one page as large as the count) and show it."""
    total = store.count_leads(search=search)
    view = QTableView()
    model = LeadTableModel(store, page_size=max(total, 1), parent=view)
    view.setModel(model)
    model.set_filter(search)
    view.resize(1200, 700)
    view.show()
    app.processEvents()
    return view


def measure(count: int, repeat: int) -> dict[str, Any]:
    """Fill a temporary database and time opening and searching both ways."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="kiosk-scale-") as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'leads.sqlite3'}")
        try:
            started = time.perf_counter()
            fill_synthetic_leads(store, count)
            fill_s = time.perf_counter() - started
            result = _measure_store(app, store, repeat)
        finally:
            store.close()
    result.update({"count": count, "repeat": repeat, "fill_s": round(fill_s, 2)})
    return result


def _measure_store(app: QApplication, store: Any, repeat: int) -> dict[str, Any]:
    views: list[QTableView] = []

    def keep(view: QTableView) -> None:
        view.close()
        view.deleteLater()
        views.append(view)

    result: dict[str, Any] = {
        "open_lazy": time_call(lambda: keep(open_lazy(app, store)), repeat),
        "open_eager": time_call(lambda: keep(open_eager(app, store)), repeat),
        "search_lazy": {},
        "search_eager": {},
        "matches": {},
    }
    view = open_lazy(app, store)
    model = view.model()
    assert isinstance(model, LeadTableModel)
    for text in SEARCHES:
        result["search_lazy"][text] = time_call(
            lambda text=text: _search(app, model, text), repeat
        )
        result["search_eager"][text] = time_call(
            lambda text=text: keep(open_eager(app, store, text)), max(1, repeat // 2)
        )
        result["matches"][text] = store.count_leads(search=text)
    result["filter_needs_attention_lazy"] = time_call(
        lambda: _filter_state(app, model, "needs_attention"), repeat
    )
    keep(view)
    app.processEvents()
    return result


def _search(app: QApplication, model: LeadTableModel, text: str) -> None:
    model.set_filter(text)
    app.processEvents()


def _filter_state(app: QApplication, model: LeadTableModel, state: str) -> None:
    model.set_filter("", state)
    app.processEvents()


def _report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['count']} leads (filled in {result['fill_s']} s), "
        f"{result['repeat']} runs each, median / max ms",
        _line("open, lazy first page", result["open_lazy"], OPEN_LIMIT_S),
        _line("open, eager all rows", result["open_eager"], None),
    ]
    for text, timing in result["search_lazy"].items():
        matches = result["matches"][text]
        lines.append(_line(f"search {text!r} lazy ({matches})", timing, SEARCH_LIMIT_S))
        lines.append(
            _line(f"search {text!r} eager", result["search_eager"][text], None)
        )
    lines.append(
        _line(
            "filter needs_attention lazy", result["filter_needs_attention_lazy"], None
        )
    )
    return "\n".join(lines)


def _line(label: str, timing: dict[str, float], limit_s: float | None) -> str:
    text = f"  {label:<42} {timing['median_ms']:9.1f} / {timing['max_ms']:9.1f}"
    if limit_s is not None:
        verdict = "ok" if timing["max_ms"] < limit_s * 1000.0 else "OVER"
        text += f"  (limit {limit_s * 1000:.0f} ms: {verdict})"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="leads to fill")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each timing")
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    args = parser.parse_args()
    result = measure(args.count, args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
