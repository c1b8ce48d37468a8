"""One Azure Functions blueprint per resource; `function_app.py` registers them all."""

from .assistants import bp as assistants
from .health import bp as health
from .messages import bp as messages
from .threads import bp as threads

__all__ = ["assistants", "health", "messages", "threads"]
