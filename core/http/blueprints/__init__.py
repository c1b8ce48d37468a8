"""One Azure Functions blueprint per resource; `function_app.py` registers them all."""

from .assistants import bp as assistants
from .health import bp as health
from .jobs import bp as jobs
from .messages import bp as messages
from .runs import bp as runs
from .steps import bp as steps
from .threads import bp as threads

__all__ = ["assistants", "health", "jobs", "messages", "runs", "steps", "threads"]
