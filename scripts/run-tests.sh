#!/usr/bin/env bash
# Install the kiosk with its test tools and run the test suite without a display.
# Arguments are passed to pytest, e.g. scripts/run-tests.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export QT_QPA_PLATFORM=offscreen
exec "${KIOSK_VENV:-.venv}/bin/python" -m pytest "$@"
