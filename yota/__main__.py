"""``python -m yota plugins`` / ``python -m yota rules NAME``: see yota.cli."""
import sys

from .cli import main

sys.exit(main())
