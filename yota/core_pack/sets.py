"""placeholder"""
from ..registry import ImplementationTable

IMPLEMENTS = ImplementationTable()
