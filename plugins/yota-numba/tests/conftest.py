"""Makes numba_testing (the helpers that drive the compiler pieces directly) importable under
pytest's importlib import mode."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
