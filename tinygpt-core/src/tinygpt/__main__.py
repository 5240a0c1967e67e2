"""`python -m tinygpt ...` runs the tinygpt command line."""

import sys

from .cli import main

sys.exit(main())
