"""Serve the example app with real ASGI servers and talk to it over HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

_REPOSITORY = Path(__file__).resolve().parent.parent
_STARTUP_TIMEOUT = 20.0
_SHUTDOWN_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_command(server: str, port: int) -> list[str]:
    if server == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    return [sys.executable, "-m", "hypercorn", "examples.app:app", "--bind", f"127.0.0.1:{port}"]


def _wait_until_serving(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with code {process.returncode} before serving:\n{log.read_text()}")
        try:
            httpx.get(base_url + "/", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    pytest.fail(f"server did not answer within {_STARTUP_TIMEOUT} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=_SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=_SHUTDOWN_TIMEOUT)


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """Start the example app under one server and yield a client bound to it."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / f"{request.param}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            _server_command(request.param, port),
            cwd=_REPOSITORY,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    request.addfinalizer(lambda: _stop(process))
    base_url = f"http://127.0.0.1:{port}"
    _wait_until_serving(process, base_url, log)
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        yield client


def test_server_home_page_is_html(server: httpx.Client) -> None:
    response = server.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Recipes</h1>" in response.text


def test_server_lists_recipes(server: httpx.Client) -> None:
    response = server.get("/recipes")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    names = [recipe["name"] for recipe in response.json()]
    assert names[:3] == ["Pancakes", "Omelette", "Tomato soup"]


def test_server_filters_by_query_params(server: httpx.Client) -> None:
    response = server.get("/recipes", params={"tag": "quick", "limit": "1"})
    assert response.status_code == 200
    assert [recipe["name"] for recipe in response.json()] == ["Omelette"]


def test_server_rejects_bad_query_param(server: httpx.Client) -> None:
    response = server.get("/recipes", params={"limit": "many"})
    assert response.status_code == 400
    assert response.text == "limit must be a non-negative integer, got 'many'"


def test_server_int_path_param(server: httpx.Client) -> None:
    response = server.get("/recipes/2")
    assert response.status_code == 200
    assert response.json() == {
        "id": 2,
        "name": "Omelette",
        "tags": ["breakfast", "quick"],
        "ingredients": {"eggs": 3, "butter_g": 10},
    }


def test_server_float_path_param(server: httpx.Client) -> None:
    response = server.get("/recipes/1/scale/2.5")
    assert response.status_code == 200
    body = response.json()
    assert body["factor"] == 2.5
    assert body["ingredients"] == {"flour_g": 500.0, "milk_ml": 750.0, "eggs": 5.0}


def test_server_str_path_param(server: httpx.Client) -> None:
    response = server.get("/tags/breakfast")
    assert response.status_code == 200
    assert response.json() == {"tag": "breakfast", "recipes": ["Pancakes", "Omelette"]}


def test_server_http_exception_for_missing_recipe(server: httpx.Client) -> None:
    response = server.get("/recipes/999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "Recipe 999 not found"


def test_server_creates_recipe_from_json(server: httpx.Client) -> None:
    created = server.post("/recipes", json={"name": "Toast", "tags": ["quick"], "ingredients": {"bread": 2}})
    assert created.status_code == 201
    recipe_id = created.json()["id"]

    fetched = server.get(f"/recipes/{recipe_id}")
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "Toast"


def test_server_rejects_invalid_json(server: httpx.Client) -> None:
    response = server.post("/recipes", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"}


def test_server_rejects_json_without_name(server: httpx.Client) -> None:
    response = server.post("/recipes", json=["not", "an", "object"])
    assert response.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "tags": 5},
        {"name": "x", "tags": [1]},
        {"name": "x", "ingredients": ["flour"]},
        {"name": "x", "ingredients": {"salt": "pinch"}},
        {"name": "x", "ingredients": {"salt": True}},
    ],
)
def test_server_rejects_malformed_recipe(server: httpx.Client, body: dict[str, object]) -> None:
    response = server.post("/recipes", json=body)
    assert response.status_code == 422


def test_server_rejects_infinite_amount_without_storing(server: httpx.Client) -> None:
    # 1e400 parses as infinity, which the JSON encoder would refuse on every later read.
    body = b'{"name": "Big", "ingredients": {"x": 1e400}}'
    response = server.post("/recipes", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert server.get("/recipes").status_code == 200


def test_server_rejects_body_that_is_not_utf8(server: httpx.Client) -> None:
    response = server.post("/recipes", content=b"\xc3(", headers={"content-type": "application/json"})
    assert response.status_code == 400


def test_server_unknown_path_returns_404(server: httpx.Client) -> None:
    response = server.get("/no/such/page")
    assert response.status_code == 404
    assert response.text == "Not Found"


def test_server_wrong_method_returns_405(server: httpx.Client) -> None:
    response = server.delete("/recipes/1")
    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD"]
    assert response.text == "Method Not Allowed"


def test_server_head_request_has_no_body(server: httpx.Client) -> None:
    response = server.head("/recipes/1")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


def test_server_path_convertor_mismatch_returns_404(server: httpx.Client) -> None:
    response = server.get("/recipes/abc")
    assert response.status_code == 404
