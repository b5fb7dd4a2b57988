"""``python -m transnorm`` runs the ``transnorm`` command."""

import sys

from .cli import main

sys.exit(main())
