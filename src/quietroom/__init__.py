"""Quietroom: a self-hosted therapy platform that never holds clinical content in plaintext."""

__version__ = "0.1.0"
