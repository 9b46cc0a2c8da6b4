"""sempi: organise an Italian accounting firm's work from the shell."""

__version__ = "0.1.0"
