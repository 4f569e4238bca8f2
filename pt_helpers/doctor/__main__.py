"""``python -m pt_helpers.doctor [--json]`` (``make doctor``): print the report; exit 0 when the course runs here."""

import sys

from .check import main

sys.exit(main())
