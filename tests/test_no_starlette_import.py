"""Rustlette runs without importing starlette, even while starlette is installed next to it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Runs in a fresh interpreter, because this test process imports starlette for the
# differential tests. With "block", any attempt to import starlette raises, and the
# attempt is also recorded in case some code catches the error.
_SCRIPT = textwrap.dedent(
    """
    import importlib
    import pkgutil
    import sys
    import warnings

    attempts = []

    class BlockStarlette:
        def find_spec(self, fullname, path=None, target=None):
            if fullname == "starlette" or fullname.startswith("starlette."):
                attempts.append(fullname)
                raise RuntimeError(f"rustlette tried to import {fullname}")
            return None

    if sys.argv[1] == "block":
        sys.meta_path.insert(0, BlockStarlette())

    import rustlette

    imported = []
    optional = []
    for module in pkgutil.walk_packages(rustlette.__path__, "rustlette."):
        try:
            # Deprecated modules (middleware.wsgi) warn on import, as Starlette's do.
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                importlib.import_module(module.name)
        except ModuleNotFoundError as exc:
            # A middleware may need an optional package (itsdangerous for sessions).
            if (exc.name or "").split(".")[0] in ("rustlette", "starlette"):
                raise
            optional.append(f"{module.name} needs {exc.name}")
        else:
            imported.append(module.name)

    from rustlette.applications import Starlette
    from rustlette.responses import JSONResponse
    from rustlette.routing import Route
    from rustlette.testclient import TestClient

    async def endpoint(request):
        return JSONResponse({"item": request.path_params["item_id"], "q": request.query_params.get("q")})

    app = Starlette(routes=[Route("/items/{item_id:int}", endpoint)])
    with TestClient(app) as client:
        response = client.get("/items/7?q=x")
        missing = client.get("/nowhere")
    assert response.status_code == 200, response.status_code
    assert response.json() == {"item": 7, "q": "x"}, response.text
    assert missing.status_code == 404, missing.status_code

    loaded = sorted(name for name in sys.modules if name == "starlette" or name.startswith("starlette."))
    assert not loaded, f"starlette modules loaded: {loaded}"
    assert not attempts, f"starlette imports attempted: {attempts}"
    assert len(imported) >= 10, imported
    print("imported", len(imported), "modules; skipped for missing optional packages:", optional)
    """
)


@pytest.mark.parametrize("mode", ["observe", "block"])
def test_rustlette_runs_without_starlette(mode: str) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", _SCRIPT, mode],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stdout.startswith("imported ")
