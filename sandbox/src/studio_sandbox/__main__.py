"""`python -m studio_sandbox up|down|status`."""

import sys

from studio_sandbox.cli import main

sys.exit(main())
