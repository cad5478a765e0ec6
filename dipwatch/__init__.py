"""Dipwatch: the command line, settings, logging, topic registry and brokers."""

__all__ = ["__version__"]
__version__ = "0.1.0"
