"""`python -m contracts.policies`: the auditors' and operators' command line."""

import sys

from contracts.policies.cli import main

sys.exit(main())
