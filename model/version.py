"""The version of aop (one place: the package, the CLI and the pages read it)."""

__version__ = "0.1.0"
