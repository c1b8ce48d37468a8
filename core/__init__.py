"""Assistants API on the Responses API: the application package."""

__version__ = "0.1.0"
