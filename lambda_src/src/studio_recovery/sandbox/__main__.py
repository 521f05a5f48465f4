"""`python -m studio_recovery.sandbox up|down|status`."""

import sys

from studio_recovery.sandbox.cli import main

sys.exit(main())
