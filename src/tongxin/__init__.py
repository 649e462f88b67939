"""Tongxin (同心): grassroots governance and public services for a county."""

__version__ = "0.1.0"
