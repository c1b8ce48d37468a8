"""What the Functions worker indexes: names, async handlers and class (not string) annotations on triggers."""

from __future__ import annotations

import inspect

from azurefunctions.extensions.http.fastapi import Request

from core.http.local_host import _functions


def test_every_function_is_async_and_typed_for_the_worker() -> None:
    functions = {function.get_function_name(): function for function in _functions()}
    assert len(functions) == 144  # 47 HTTP functions in three route families, and 3 jobs
    for name, function in functions.items():
        handler = function.get_user_function()
        assert inspect.iscoroutinefunction(handler), name
        assert handler.__name__ == name
        for parameter in inspect.signature(handler).parameters.values():
            assert isinstance(parameter.annotation, type), f"{name}.{parameter.name} must be a class, not a string"
        if function.get_trigger().get_binding_name() == "httpTrigger":
            assert list(inspect.signature(handler).parameters) == ["req"]
            assert inspect.signature(handler).parameters["req"].annotation is Request
