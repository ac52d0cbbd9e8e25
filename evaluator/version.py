"""The package version, in a module of its own: code inside the package reads it from here, never
from the ``evaluator`` face (which would make every module depend on the library API above it)."""

__version__ = "0.1.0"
