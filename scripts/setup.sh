#!/usr/bin/env bash
# Prepare a Debian or Ubuntu machine for the kiosk: system libraries, a virtual
# environment in .venv, and the project installed into it.
#
#   scripts/setup.sh          install the kiosk
#   scripts/setup.sh --test   install the kiosk with the test tools
#
# Both install the project in editable mode, so the kiosk started from this checkout and
# the test run share .venv without one install replacing the other's files.
#
# Run as root, it installs missing system packages with apt-get. Run as another user, it
# lists what is missing and the command that installs it, then stops.
set -euo pipefail

cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
    python3 python3-venv python3-pip
    libzbar0
    libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libglib2.0-0
    libdbus-1-3 libpulse0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
    libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xkb1
)
VENV=${KIOSK_VENV:-.venv}

missing_packages() {
    local package
    for package in "${SYSTEM_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
            printf '%s\n' "$package"
        fi
    done
}

install_system_packages() {
    if ! command -v dpkg-query >/dev/null; then
        echo "setup: not a Debian or Ubuntu system; install Qt's X11 libraries and libzbar0 yourself." >&2
        return 0
    fi
    local missing
    missing=$(missing_packages)
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        echo "setup: installing system packages: $(echo $missing)" >&2
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
    else
        echo "setup: these system packages are missing: $(echo $missing)" >&2
        echo "setup: install them with: sudo apt-get install $(echo $missing)" >&2
        echo "setup: then run this script again." >&2
        exit 1
    fi
}

create_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "setup: creating the virtual environment $VENV" >&2
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip
}

install_project() {
    if [ "${1:-}" = "--test" ]; then
        "$VENV/bin/python" -m pip install -q -e ".[test]"
    else
        "$VENV/bin/python" -m pip install -q -e .
    fi
}

install_system_packages
create_venv
install_project "${1:-}"
