#!/usr/bin/env bash
# Install the kiosk (system packages, .venv, the project) and start it.
# Arguments are passed to `kiosk`, e.g. scripts/run-kiosk.sh --windowed --camera demo
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec "${KIOSK_VENV:-.venv}/bin/kiosk" "$@"
