"""Tooling for the local warehouse: embedded PostgreSQL, raw data generator and loader."""

__version__ = "0.1.0"
