"""`python -m netscaler_certsync` is the same as the `netscaler-certsync` command."""

import sys

from netscaler_certsync.cli import main

sys.exit(main())
