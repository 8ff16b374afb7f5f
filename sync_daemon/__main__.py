"""``python -m sync_daemon`` runs ``kiosk-sync``."""

import sys

from sync_daemon.cli import main

sys.exit(main())
