"""`JSONResponse` served by full apps on starlette and rustlette, valid and rejected content.

Every valid payload is served by an endpoint and compared on the wire. Every rejected
one must raise the exception type and message that starlette's `json.dumps` call
raises, both when the response is built and when it escapes the app.
"""

from __future__ import annotations

import collections
import decimal
import enum
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from differential import Differential, Framework, call, http_scope


class _Priority(enum.IntEnum):
    LOW = 1
    HUGE = 2**80


class _Color(str, enum.Enum):
    RED = "red"
    QUOTED = 'say "hi"\n'


class _Ratio(float, enum.Enum):
    HALF = 0.5


class _Flags(enum.IntFlag):
    READ = 4
    WRITE = 2


class _Plain(enum.Enum):
    ONE = 1


class _Point(NamedTuple):
    x: int
    label: str


class _Text(str):
    def __str__(self) -> str:
        return "str() is not used"


class _Integer(int):
    def __repr__(self) -> str:
        return "repr() is not used"


class _Real(float):
    def __repr__(self) -> str:
        return "repr() is not used"


def _reordered() -> collections.OrderedDict[str, int]:
    ordered = collections.OrderedDict([("first", 1), ("second", 2), ("third", 3)])
    ordered.move_to_end("first")
    ordered.move_to_end("third", last=False)
    return ordered


def _nested(depth: int) -> Any:
    content: Any = {"leaf": True}
    for level in range(depth):
        content = [level, content] if level % 2 else {"level": content}
    return content


def _wrapped_lists(depth: int) -> Any:
    content: Any = []
    for _ in range(depth):
        content = [content]
    return content


_CONTROL_CHARACTERS = "".join(chr(code) for code in range(0x20)) + "\x7f\x85\u2028\u2029"

# name -> content. Each value is built fresh for each framework, because some are mutable.
_PAYLOADS: dict[str, Callable[[], Any]] = {
    "empty-dict": dict,
    "empty-list": list,
    "empty-string": str,
    "true": lambda: True,
    "zero": lambda: 0,
    "nested": lambda: _nested(40),
    "nested-500": lambda: _wrapped_lists(500),
    "unicode": lambda: {"ключ": "значение", "中文": "汉字", "emoji": "🎉👩‍👩‍👧", "combining": "é", "nbsp": "\xa0"},
    "control-characters": lambda: {"text": _CONTROL_CHARACTERS, _CONTROL_CHARACTERS: "as key"},
    "escapes": lambda: ['"', "\\", "/", "\b\f\n\r\t", "</script>"],
    "big-ints": lambda: [2**63 - 1, -(2**63), 2**64, -(2**64) - 1, 10**100, -(10**4299)],
    "floats": lambda: [1e16, 1e-05, -0.0, 0.0, 1e15, 1e-4, 0.1 + 0.2, 1.7976931348623157e308, 5e-324, -1.5],
    "float-keys": lambda: {1e16: "a", 1e-05: "b", -0.0: "c", 0.5: "d"},
    "mixed-keys": lambda: {"s": 1, 2: 2, 3.5: 3, True: 4, False: 5, None: 6},
    "int-enum": lambda: {"priority": _Priority.LOW, "huge": _Priority.HUGE, _Priority.LOW: "as key"},
    "str-enum": lambda: {"color": _Color.RED, "quoted": _Color.QUOTED, _Color.RED: "as key"},
    "float-enum": lambda: [_Ratio.HALF],
    "int-flag": lambda: [_Flags.READ | _Flags.WRITE],
    "ordered-after-move": _reordered,
    "namedtuple": lambda: {"point": _Point(3, "three"), "points": [_Point(1, "one")]},
    "tuple": lambda: (1, (2, (3,))),
    "subclasses": lambda: [_Text("text"), _Integer(7), _Real(2.5), {_Text("key"): _Integer(1)}],
    "bool-is-not-int": lambda: [True, False, 1, 0],
    "shared-not-circular": lambda: (lambda shared: [shared, {"again": shared}])([1, 2]),
    "large": lambda: [{"id": number, "name": f"item {number} ✓", "price": number / 7} for number in range(2000)],
}


def _serve_json(content: Callable[[], Any], **options: Any) -> Callable[[Framework], Any]:
    def factory(fw: Framework) -> Any:
        async def endpoint(request: Any) -> Any:
            return fw.responses.JSONResponse(content(), **options)

        return fw.applications.Starlette(routes=[fw.routing.Route("/", endpoint, methods=["GET", "POST"])])

    return factory


@pytest.mark.parametrize("name", list(_PAYLOADS))
def test_json_response_payload_on_the_wire(differential: Differential, name: str) -> None:
    outcomes = differential.compare(_serve_json(_PAYLOADS[name]), call("GET", "/"), call("HEAD", "/"))
    assert outcomes[0].status == 200
    assert outcomes[0].header("content-type") == "application/json"


@pytest.mark.parametrize("name", ["unicode", "big-ints", "floats", "mixed-keys"])
def test_json_response_payload_raw_asgi(differential: Differential, name: str) -> None:
    outcome = differential.compare_scope(_serve_json(_PAYLOADS[name]), http_scope("/", method="POST"))
    assert outcome.error is None


@pytest.mark.parametrize(
    "options",
    [
        {"status_code": 201},
        {"status_code": 204},
        {"headers": {"X-Request-Id": "7", "Cache-Control": "no-store"}},
        {"media_type": "application/problem+json"},
        {"media_type": "text/json"},
        {"headers": {"content-type": "application/vnd.api+json", "Content-Length": "999"}},
    ],
    ids=str,
)
def test_json_response_options_on_the_wire(differential: Differential, options: dict[str, Any]) -> None:
    differential.compare_scope(_serve_json(lambda: {"ok": True}, **options), http_scope("/"))


class _Unserializable:
    pass


def _circular_dict() -> Any:
    outer: dict[str, Any] = {"list": []}
    outer["list"].append({"back": outer})
    return outer


def _circular_list() -> Any:
    looped: list[Any] = [1]
    looped.append([looped])
    return looped


_REJECTED: dict[str, Callable[[], Any]] = {
    "nan": lambda: float("nan"),
    "inf": lambda: [1, float("inf")],
    "minus-inf-in-dict": lambda: {"value": float("-inf")},
    "nan-key": lambda: {float("nan"): 1},
    "inf-key": lambda: {float("inf"): 1},
    "object": _Unserializable,
    "set": lambda: {"tags": {1, 2}},
    "bytes": lambda: [b"raw"],
    "decimal": lambda: decimal.Decimal("1.5"),
    "complex": lambda: 1j,
    "plain-enum": lambda: _Plain.ONE,
    "type": lambda: int,
    "tuple-key": lambda: {(1, 2): "pair"},
    "bytes-key": lambda: {b"key": 1},
    "decimal-key": lambda: {decimal.Decimal(1): 1},
    "frozenset-key": lambda: {frozenset(): 1},
    "circular-list": _circular_list,
    "circular-dict": _circular_dict,
    "lone-surrogate": lambda: "\ud800",
    "lone-surrogate-key": lambda: {"ok": 1, "\udfff": 2},
    "surrogate-pair-halves": lambda: ["\ud83d", "\ude00"],
    "too-many-digits": lambda: 10**4300,
    "deep-1000": lambda: _wrapped_lists(1000),
    "deep-100000": lambda: _wrapped_lists(100_000),
    "deep-dicts": lambda: _nested(5000),
}


@pytest.mark.parametrize("name", list(_REJECTED))
def test_json_response_rejected_content(differential: Differential, name: str) -> None:
    raised = differential.compare_call(
        lambda fw: fw.responses.JSONResponse(_REJECTED[name]()).body, label=f"JSONResponse({name})"
    )
    assert raised[0] == "raised"


@pytest.mark.parametrize("name", ["nan", "object", "tuple-key", "circular-dict", "lone-surrogate", "deep-100000"])
def test_json_response_rejected_in_endpoint(differential: Differential, name: str) -> None:
    factory = _serve_json(_REJECTED[name])
    (outcome,) = differential.compare(factory, call("GET", "/"))
    assert outcome.error is not None

    (outcome,) = differential.compare(factory, call("GET", "/"), client_options={"raise_server_exceptions": False})
    assert outcome.status == 500


@pytest.mark.parametrize("depth", [1, 200, 500])
def test_json_response_moderate_nesting_matches(differential: Differential, depth: int) -> None:
    differential.compare(_serve_json(lambda: _wrapped_lists(depth)), call("GET", "/"))


def test_json_response_deep_nesting_raises_recursion_error(differential: Differential) -> None:
    # The depth at which each side gives up differs: json.dumps counts nesting against
    # the interpreter's recursion limit together with its caller's frames, and the
    # extension stops at 1000 containers. Both raise RecursionError, which is the
    # contract; far past either limit the outcomes are identical.
    factory = _serve_json(lambda: _wrapped_lists(100_000))
    (outcome,) = differential.compare(factory, call("GET", "/"))
    assert outcome.error is not None
    assert outcome.error[0] == "builtins.RecursionError"


def test_json_response_rejects_missing_content(differential: Differential) -> None:
    differential.compare_call(lambda fw: fw.responses.JSONResponse(), label="JSONResponse() with no content")


def test_json_response_render_called_once(differential: Differential) -> None:
    def build(fw: Framework) -> Any:
        calls: list[Any] = []

        class CountingResponse(fw.responses.JSONResponse):  # type: ignore[misc, name-defined]
            def render(self, content: Any) -> bytes:
                calls.append(content)
                return super().render(content)  # type: ignore[no-any-return]

        response = CountingResponse({"n": math.pi})
        return calls, response.body, response.raw_headers

    differential.compare_call(build, label="JSONResponse subclass calling super().render")
