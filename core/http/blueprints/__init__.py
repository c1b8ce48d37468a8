"""One Azure Functions blueprint per resource; `function_app.py` registers them all."""

from .assistants import bp as assistants
from .files import bp as files
from .health import bp as health
from .jobs import bp as jobs
from .messages import bp as messages
from .models import bp as models
from .runs import bp as runs
from .steps import bp as steps
from .threads import bp as threads
from .vector_stores import bp as vector_stores

__all__ = ["assistants", "files", "health", "jobs", "messages", "models", "runs", "steps", "threads",
           "vector_stores"]
