"""Every public name of Starlette's modules exists in the rustlette module of the same name."""

from __future__ import annotations

import ast
import importlib
import inspect
import warnings
from types import ModuleType
from typing import Any

import pytest

from differential import Framework

_MODULES = [
    "applications",
    "routing",
    "requests",
    "responses",
    "datastructures",
    "exceptions",
    "status",
    "types",
    "testclient",
    "concurrency",
    "background",
    "convertors",
    "endpoints",
    "websockets",
    "middleware",
    "middleware.errors",
    "middleware.exceptions",
    "middleware.authentication",
    "middleware.base",
    "middleware.body_limit",
    "middleware.cors",
    "middleware.gzip",
    "middleware.httpsredirect",
    "middleware.opentelemetry",
    "middleware.sessions",
    "middleware.trustedhost",
    "middleware.wsgi",
    "authentication",
    "config",
    "formparsers",
    "schemas",
    "staticfiles",
    "templating",
    "_exception_handler",
    "_utils",
]

# Names Starlette's modules bind that rustlette leaves out on purpose, with the reason.
_ABSENT_BY_DESIGN: dict[str, set[str]] = {
    # Starlette binds the python-multipart package here; rustlette parses forms itself.
    "formparsers": {"multipart"},
}


def _public_names(module: ModuleType) -> list[str]:
    """List the names a user can import from `module`: its top-level bindings and its imports from its package.

    Names imported from the standard library or third-party packages (`Any`, `anyio`) are
    not part of Starlette's API, so they are left out. Names bound only under
    `if TYPE_CHECKING:` do not exist at run time and are left out too.
    """
    package = module.__name__.split(".")[0]
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in _runtime_statements(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(_bound_names(target))
        elif isinstance(node, ast.AnnAssign):
            names.update(_bound_names(node.target))
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.module.split(".")[0] == package:
            names.update(alias.asname or alias.name for alias in node.names)
    return sorted(
        name
        for name in names
        if not name.startswith("_") and hasattr(module, name) and _belongs_to(getattr(module, name), package)
    )


def _belongs_to(value: Any, package: str) -> bool:
    """Reject functions and classes of other libraries bound by assignment, like `parse_options_header`."""
    if inspect.isfunction(value) or inspect.isclass(value):
        return str(value.__module__).split(".")[0] == package
    return True


def _runtime_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    statements: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If):
            if ast.unparse(node.test) != "TYPE_CHECKING":
                statements += _runtime_statements(node.body) + _runtime_statements(node.orelse)
            else:
                statements += _runtime_statements(node.orelse)
        elif isinstance(node, ast.Try):
            statements += _runtime_statements(node.body)
            for handler in node.handlers:
                statements += _runtime_statements(handler.body)
            statements += _runtime_statements(node.orelse) + _runtime_statements(node.finalbody)
        else:
            statements.append(node)
    return statements


def _bound_names(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple | ast.List):
        return {name for element in target.elts for name in _bound_names(element)}
    return set()


def _module_pair(candidate: Framework, name: str) -> tuple[ModuleType, ModuleType]:
    # Both WSGI modules warn on import that they are deprecated; that is checked elsewhere.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(f"starlette.{name}"), candidate.module(name)


@pytest.mark.parametrize("name", _MODULES)
def test_module_exports_starlette_names(candidate: Framework, name: str) -> None:
    reference, module = _module_pair(candidate, name)
    absent = _ABSENT_BY_DESIGN.get(name, set())
    missing = [member for member in _public_names(reference) if not hasattr(module, member) and member not in absent]
    assert missing == [], f"{module.__name__} lacks public names of {reference.__name__}: {missing}"


@pytest.mark.parametrize("name", _MODULES)
def test_module_all_matches_starlette(candidate: Framework, name: str) -> None:
    reference, module = _module_pair(candidate, name)
    assert getattr(module, "__all__", None) == getattr(reference, "__all__", None)


def _describe_default(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return "<no default>"
    if callable(value):
        return getattr(value, "__qualname__", type(value).__qualname__)
    if type(value).__repr__ is object.__repr__:
        # The default repr carries a memory address, so compare the type instead.
        return f"<{type(value).__qualname__} instance>"
    return repr(value)


def _describe_signature(member: Any) -> list[tuple[str, str, str]] | str:
    try:
        signature = inspect.signature(member)
    except (TypeError, ValueError) as exc:
        return f"no signature: {type(exc).__name__}"
    return [(param.name, param.kind.name, _describe_default(param.default)) for param in signature.parameters.values()]


def _callables_with_signatures(module: ModuleType) -> dict[str, Any]:
    """Functions and classes defined in `module`, and the public methods those classes define.

    Re-exported names are checked in the module that defines them.
    """
    members: dict[str, Any] = {}
    for name in _public_names(module):
        value = getattr(module, name)
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            members[name] = value
        elif inspect.isclass(value):
            members[name] = value
            for attribute, method in vars(value).items():
                if (attribute == "__init__" or not attribute.startswith("_")) and inspect.isfunction(method):
                    members[f"{name}.{attribute}"] = method
    return members


@pytest.mark.parametrize("name", _MODULES)
def test_module_signatures_match_starlette(candidate: Framework, name: str) -> None:
    reference, module = _module_pair(candidate, name)
    differences = []
    for member_name, reference_member in _callables_with_signatures(reference).items():
        owner, _, attribute = member_name.partition(".")
        member = getattr(module, owner, None)
        if attribute:
            member = getattr(member, attribute, None)
        if member is None:
            continue  # test_module_exports_starlette_names reports missing names.
        expected = _describe_signature(reference_member)
        actual = _describe_signature(member)
        if expected != actual:
            differences.append(f"{member_name}:\n    starlette: {expected}\n    {candidate.package}: {actual}")
    assert differences == [], f"signatures in {module.__name__} differ:\n" + "\n".join(differences)
