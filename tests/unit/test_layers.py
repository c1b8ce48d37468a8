"""The layer rules of architecture.md ("core/: layers and who may import whom") and code review change 5, checked
on the source with ``ast``: every ``.py`` file under ``core/`` and ``function_app.py`` is parsed, nothing is imported.

Relative imports are resolved to absolute names. ``from a.b import c`` counts as importing both ``a.b`` and ``a.b.c``
(``c`` may be a submodule). An import inside a function body is *lazy*; one in an ``if TYPE_CHECKING:`` block is
*for typing only*; both matter only to the cold-start rule. A rule that today's code breaks lists the offending import
as ``KNOWN_*`` and has a strict xfail test, so the suite stays green, the breach stays visible, and the marker must
go once it is fixed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = [*sorted(path.relative_to(ROOT).as_posix() for path in ROOT.glob("core/**/*.py")), "function_app.py"]
OURS = ("core", "function_app")
AZURE_FUNCTIONS = ("azure.functions", "azurefunctions")
CLOUD_SDKS = ("openai", "azure.cosmos", "redis", "azure.identity", "azure.storage")


@dataclass(frozen=True)
class Import:
    path: str  # the importing file, relative to the repository
    line: int
    statement: str  # as written
    targets: tuple[str, ...]  # absolute module names it may import
    lazy: bool  # inside a function body
    typing_only: bool  # under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        resolved = "" if self.statement.startswith(("import", f"from {self.targets[0]} ")) else f"  [{self.targets[0]}]"
        return f"{self.path}:{self.line}: {self.statement}{resolved}"

    def imports(self, *modules: str) -> bool:
        return any(_within(target, modules) for target in self.targets)


def _within(name: str, modules: tuple[str, ...]) -> bool:
    return any(name == module or name.startswith(module + ".") for module in modules)


def _under(path: str, *places: str) -> bool:
    return any(path == place or path.startswith(place.rstrip("/") + "/") for place in places)


def _package(path: str) -> list[str]:
    parts = path.removesuffix(".py").split("/")
    return parts[:-1]  # a module's package; for an __init__.py, the package itself


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports_of(path: str) -> Iterator[Import]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=path)

    def visit(node: ast.AST, lazy: bool, typing_only: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            targets = tuple(alias.name for alias in node.names)
            yield Import(path, node.lineno, ast.unparse(node), targets, lazy, typing_only)
            return
        if isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                return
            package = _package(path)
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            targets = (module, *(f"{module}.{alias.name}" for alias in node.names if alias.name != "*"))
            yield Import(path, node.lineno, ast.unparse(node), targets, lazy, typing_only)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            lazy = True
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from visit(child, lazy, True)
            for child in node.orelse:
                yield from visit(child, lazy, typing_only)
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child, lazy, typing_only)

    yield from visit(tree, False, False)


IMPORTS = [found for path in FILES for found in _imports_of(path)]


def _offenders(where: Callable[[Import], bool]) -> list[str]:
    return [str(found) for found in IMPORTS if where(found)]


def _report(rule: str, offenders: list[str]) -> str:
    return f"{rule}; offending imports:\n  " + "\n  ".join(offenders)


def _ours_outside(found: Import, allowed: tuple[str, ...]) -> list[str]:
    return [target for target in found.targets if _within(target, OURS) and not _within(target, allowed)]


# -- the scan itself -------------------------------------------------------------------------------------------------


def test_the_scan_sees_the_code_base() -> None:
    """Guards the rules below against passing vacuously (a wrong root, a glob that matches nothing)."""
    for expected in ("function_app.py", "core/bootstrap.py", "core/domain/models.py", "core/services/_turn.py",
                     "core/adapters/openai/gateway.py", "core/http/sse.py"):
        assert expected in FILES
    [relative] = [found for found in IMPORTS if found.path == "core/services/_turn.py"
                  and found.statement == "from ._run_state import settle_message, settle_step"]
    assert relative.targets[0] == "core.services._run_state"
    gateway_openai = [(found.lazy, found.typing_only) for found in IMPORTS
                      if found.path == "core/adapters/openai/gateway.py" and found.imports("openai")]
    assert (False, True) in gateway_openai and (True, False) in gateway_openai  # under TYPE_CHECKING, in a function
    lazy = [found for found in IMPORTS if found.path == "core/bootstrap.py" and found.imports("core.adapters")]
    assert lazy and all(found.lazy for found in lazy)


# -- the rules -------------------------------------------------------------------------------------------------------


def test_domain_imports_nothing_of_ours() -> None:
    offenders = _offenders(lambda found: _under(found.path, "core/domain")
                           and bool(_ours_outside(found, ("core.domain",))))
    assert not offenders, _report("core/domain may import only core.domain of ours", offenders)


def test_ports_import_only_domain_and_ports() -> None:
    offenders = _offenders(lambda found: _under(found.path, "core/ports")
                           and bool(_ours_outside(found, ("core.domain", "core.ports"))))
    assert not offenders, _report("core/ports may import only core.domain and core.ports", offenders)


def test_services_import_only_domain_ports_services_and_logs() -> None:
    """Not core.adapters, core.http, core.bootstrap or core.config: services get what they need injected."""
    allowed = ("core.domain", "core.ports", "core.services", "core.logs")
    offenders = _offenders(lambda found: _under(found.path, "core/services") and bool(_ours_outside(found, allowed)))
    assert not offenders, _report(f"core/services may import only {', '.join(allowed)}", offenders)


def _public_service(path: str) -> bool:
    return _under(path, "core/services") and path.count("/") == 2 and not path.rsplit("/", 1)[1].startswith("_")


def _public_service_targets(found: Import) -> list[str]:
    """The public service modules (other than the pure translation.py) that ``found`` imports."""
    names = [target.split(".")[2] for target in found.targets
             if _within(target, ("core.services",)) and target.count(".") >= 2]
    return [name for name in names if not name.startswith("_") and name != "translation"]


def test_public_service_modules_do_not_import_each_other() -> None:
    """A core/services/X.py (X not private) imports core.services._private modules and translation only; what
    services share lives in private modules (code review change 2)."""
    offenders = _offenders(lambda found: _public_service(found.path) and bool(_public_service_targets(found)))
    assert not offenders, _report("public service modules may import only core.services._* and "
                                  "core.services.translation", offenders)


def test_only_http_and_function_app_import_azure_functions() -> None:
    offenders = _offenders(lambda found: found.imports(*AZURE_FUNCTIONS)
                           and not (_under(found.path, "core/http") or found.path == "function_app.py"))
    assert not offenders, _report("only core/http and function_app.py may import azure.functions / azurefunctions",
                                  offenders)


def test_only_adapters_import_the_cloud_sdks() -> None:
    """Anywhere in the file, lazily or not; core/bootstrap.py reaches the SDKs only through core.adapters."""
    offenders = _offenders(lambda found: found.imports(*CLOUD_SDKS) and not _under(found.path, "core/adapters"))
    assert not offenders, _report(f"only core/adapters may import {', '.join(CLOUD_SDKS)}", offenders)


def test_openai_is_never_imported_at_module_level() -> None:
    """``openai`` takes ~0.7 s to import: only inside functions or under ``if TYPE_CHECKING:``, for cold start."""
    offenders = _offenders(lambda found: found.imports("openai") and not (found.lazy or found.typing_only))
    assert not offenders, _report("openai may be imported only inside functions or under TYPE_CHECKING", offenders)


# -- rules that today's code breaks (code review change 5) -----------------------------------------------------------

# (file, module) pairs, not line numbers, so that edits elsewhere in the file do not matter.
KNOWN_ADAPTER_IMPORTS: set[tuple[str, str]] = set()
KNOWN_UPWARD_IMPORTS = {("core/http/local_host.py", "function_app")}


def _adapter_imports() -> list[tuple[Import, str]]:
    """Imports of core.adapters from outside core/adapters, except core/bootstrap.py's lazy ones."""
    return [(found, found.targets[0]) for found in IMPORTS
            if found.imports("core.adapters") and not _under(found.path, "core/adapters")
            and not (found.path == "core/bootstrap.py" and found.lazy)]


def _upward_imports() -> list[tuple[Import, str]]:
    return [(found, found.targets[0]) for found in IMPORTS
            if _under(found.path, "core") and found.imports("function_app")]


def test_adapters_are_imported_only_by_adapters_and_lazily_by_bootstrap() -> None:
    """bootstrap is the composition root; everything else gets adapters injected (in particular core/http must
    not import core/adapters)."""
    offenders = [str(found) for found, module in _adapter_imports()
                 if (found.path, module) not in KNOWN_ADAPTER_IMPORTS]
    assert not offenders, _report("only core/adapters and, inside functions, core/bootstrap.py may import "
                                  "core.adapters", offenders)


def test_nothing_under_core_imports_function_app() -> None:
    offenders = [str(found) for found, module in _upward_imports()
                 if (found.path, module) not in KNOWN_UPWARD_IMPORTS]
    assert not offenders, _report("core must not import function_app (the arrow would run back up)", offenders)


@pytest.mark.xfail(strict=True, reason=(
    "core/http/local_host.py:75 imports function_app (lazily, inside a function): the one arrow from core back up "
    "to the app. Code review change 5: move local_host.py next to function_app.py."))
def test_known_import_of_function_app_from_core_is_gone() -> None:
    still = [str(found) for found, module in _upward_imports() if (found.path, module) in KNOWN_UPWARD_IMPORTS]
    assert not still, _report("core imports function_app", still)
