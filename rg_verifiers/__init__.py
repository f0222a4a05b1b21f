"""rg-verifiers: every reasoning-gym task as a safe, installable verifiers environment."""

__version__ = "0.1.0"
