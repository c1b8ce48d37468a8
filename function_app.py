"""The Azure Functions app: registers one blueprint per resource, nothing else.

Importing this module must never fail or do I/O: an exception here means zero functions are indexed.
"""

import azure.functions as func

from core.http import blueprints

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for blueprint in (
    blueprints.health,
    blueprints.assistants,
    blueprints.threads,
    blueprints.messages,
    blueprints.runs,
    blueprints.steps,
    blueprints.jobs,
    blueprints.files,
    blueprints.vector_stores,
    blueprints.models,
):
    app.register_functions(blueprint)
