"""Run the AcmeCRM server: ``python -m acmecrm``."""

import sys

from acmecrm.cli import main

sys.exit(main())
