"""`_rust.encode_json` against the expression Starlette's `JSONResponse.render` runs."""

from __future__ import annotations

import collections
import decimal
import enum
import gc
import json
import re
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rustlette import _rust

Outcome = bytes | tuple[type[BaseException], str]


def _render(content: Any) -> bytes:
    """Starlette 1.10's `JSONResponse.render`, the reference for every test here."""
    return json.dumps(
        content,
        ensure_ascii=False,
        allow_nan=False,
        indent=None,
        separators=(",", ":"),
    ).encode("utf-8")


def _outcome(encode: Callable[[Any], bytes], content: Any) -> Outcome:
    try:
        return encode(content)
    except (TypeError, ValueError, RecursionError) as error:
        return type(error), str(error)


def _assert_same_as_render(content: Any) -> None:
    assert _outcome(_rust.encode_json, content) == _outcome(_render, content)


class _Number(enum.IntEnum):
    ONE = 1
    BIG = 2**70


class _Color(str, enum.Enum):
    RED = "red"
    QUOTE = 'say "hi"'


class _Point(NamedTuple):
    x: int
    y: float


class _Dict(dict[Any, Any]):
    pass


class _List(list[Any]):
    pass


class _Tuple(tuple[Any, ...]):
    pass


class _Str(str):
    def __str__(self) -> str:
        return "overridden"


class _Int(int):
    def __repr__(self) -> str:
        return "overridden"


class _Float(float):
    def __repr__(self) -> str:
        return "overridden"


class _ReversedList(list[Any]):
    def __iter__(self) -> Iterator[Any]:
        items: list[Any] = list(super().__iter__())
        return iter(items[::-1])


class _ListItems(dict[Any, Any]):
    def items(self) -> Any:
        return [[key, value] for key, value in super().items()]


class _SortedItems(dict[Any, Any]):
    def items(self) -> Any:
        return sorted(super().items())


class _LongLen(dict[Any, Any]):
    def __len__(self) -> int:
        return 5


class _Hashable:
    pass


class _Proxy:
    """An object that claims to be an `int` through `__class__`."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return int


def _moved_to_end() -> collections.OrderedDict[str, int]:
    ordered = collections.OrderedDict(a=1, b=2, c=3)
    ordered.move_to_end("a")
    ordered.move_to_end("c", last=False)
    return ordered


def _nested_lists(depth: int) -> list[Any]:
    content: list[Any] = []
    for _ in range(depth):
        content = [content]
    return content


def _nested_dicts(depth: int) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for _ in range(depth):
        content = {"k": content}
    return content


def _self_list() -> list[Any]:
    content: list[Any] = [1]
    content.append(content)
    return content


def _self_dict() -> dict[str, Any]:
    content: dict[str, Any] = {"a": 1}
    content["self"] = content
    return content


def _cycle_through_tuple() -> tuple[Any, ...]:
    inner: list[Any] = []
    outer = (1, inner)
    inner.append({"back": outer})
    return outer


def _shared_twice() -> list[Any]:
    shared = [1, {"a": 2}]
    return [shared, shared, {"x": shared}]


def _records(count: int) -> list[dict[str, Any]]:
    return [{"id": n, "name": f"item {n}", "é": n % 2 == 0, '"q"\n': None} for n in range(count)]


HAND_PICKED: list[tuple[str, Any]] = [
    ("empty dict", {}),
    ("empty list", []),
    ("empty tuple", ()),
    ("none", None),
    ("booleans", [True, False]),
    ("float 1e16", 1e16),
    ("float 1e15", 1e15),
    ("float 1e-05", 1e-05),
    ("float 0.0001", 0.0001),
    ("float tiny subnormal", 5e-324),
    ("float max", 1.7976931348623157e308),
    ("float min normal", 2.2250738585072014e-308),
    ("float negative zero", -0.0),
    ("float one", 1.0),
    ("float sum", 0.1 + 0.2),
    ("float nan", float("nan")),
    ("float inf", float("inf")),
    ("float negative inf", float("-inf")),
    ("int 2**63", 2**63),
    ("int -2**63 - 1", -(2**63) - 1),
    ("int 2**64", 2**64),
    ("int 2**128", -(2**128)),
    ("int 10**100", 10**100),
    ("int 4300 digits", 10**4299),
    ("int 4301 digits", 10**4300),
    ("int 4301 digits negative", -(10**4300)),
    ("int enum", [_Number.ONE, _Number.BIG]),
    ("int enum key", {_Number.ONE: 1}),
    ("str enum", [_Color.RED, _Color.QUOTE]),
    ("str enum key", {_Color.QUOTE: 1}),
    ("ordered dict after move_to_end", _moved_to_end()),
    ("named tuple", _Point(1, 2.5)),
    ("dict subclass", _Dict(a=1, b=[2])),
    ("empty dict subclass", _Dict()),
    ("list subclass", _List([1, "a"])),
    ("tuple subclass", _Tuple((1, 2))),
    ("str subclass", [_Str("raw"), {_Str("key"): 1}]),
    ("int subclass", [_Int(7), {_Int(8): 1}]),
    ("float subclass", [_Float(0.5), {_Float(1e16): 1}]),
    ("list subclass with __iter__", _ReversedList([1, 2, 3])),
    ("dict subclass with list items", _ListItems(a=1)),
    ("dict subclass with sorted items", _SortedItems(b=1, a=2)),
    ("dict subclass with __len__", _LongLen()),
    ("float keys", {1.5: 1, -0.0: 2, 1e16: 3, 5e-324: 4}),
    ("nan key", {float("nan"): 1}),
    ("inf key", {float("inf"): 1}),
    ("int keys", {1: 1, -(2**70): 2}),
    ("int key 4301 digits", {10**4300: 1}),
    ("bool and none keys", {True: 1, False: 2, None: 3}),
    ("tuple key", {(1, 2): 3}),
    ("bytes key", {b"k": 1}),
    ("decimal key", {decimal.Decimal("1.5"): 1}),
    ("frozenset key", {frozenset(): 1}),
    ("pattern key", {re.compile("x"): 1}),
    ("class key", {_Hashable(): 1}),
    ("long class name key", {type("K" * 150, (), {})(): 1}),
    ("key error after good keys", {"a": 1, (1,): 2}),
    ("set value", {1, 2}),
    ("bytes value", b"bytes"),
    ("decimal value", decimal.Decimal("1.5")),
    ("object value", object()),
    ("mapping proxy", types.MappingProxyType({"a": 1})),
    ("proxy object", _Proxy()),
    ("type value", int),
    ("escapes", "\"\\/\b\f\n\r\t\x00\x01\x1f\x7f"),
    ("non-ascii", "é ü 中文 😀 \u2028\u2029 \ufeff"),
    ("escaped key", {'"\n': "\x1f"}),
    ("lone surrogate", "a\ud800b"),
    ("surrogate pair as two code points", "\ud83d\ude00"),
    ("lone surrogate in key", {"k\udfff": 1}),
    ("lone surrogate then nan", ["\ud800", float("nan")]),
    ("lone surrogate then bad type", ["\ud800", object()]),
    ("lone surrogate after non-ascii", ["é😀", "x\udc80y", "\ud800"]),
    ("circular list", _self_list()),
    ("circular dict", _self_dict()),
    ("cycle through tuple", _cycle_through_tuple()),
    ("shared twice", _shared_twice()),
    ("records sharing keys", _records(20)),
    ("more keys than the key cache holds", [{f"key{k}": k for k in range(600)} for _ in range(3)]),
    ("long keys repeated", [{"k" * 40: 1, "é" * 30: 2, "x" * 16: 3} for _ in range(3)]),
    ("int and str keys repeated", [{1: "a", "1": "b"}, {"1": "c", 1: "d"}]),
    ("lone surrogate key repeated", [{"k\udfff": 1}, {"k\udfff": 2}]),
    ("nested 100 lists", _nested_lists(100)),
    ("nested 100 dicts", _nested_dicts(100)),
    ("nested 5000 lists", _nested_lists(5000)),
    ("nested 5000 dicts", _nested_dicts(5000)),
]


@pytest.mark.parametrize(
    "content", [case for _, case in HAND_PICKED], ids=[name for name, _ in HAND_PICKED]
)
def test_encode_json_hand_picked_cases(content: Any) -> None:
    _assert_same_as_render(content)


def test_encode_json_surrogate_error_attributes() -> None:
    content = {"é": ["x\ud800\udc00y", "\udfff"]}

    with pytest.raises(UnicodeEncodeError) as expected:
        _render(content)
    with pytest.raises(UnicodeEncodeError) as actual:
        _rust.encode_json(content)

    assert actual.value.encoding == expected.value.encoding
    assert actual.value.object == expected.value.object
    assert actual.value.start == expected.value.start
    assert actual.value.end == expected.value.end
    assert actual.value.reason == expected.value.reason


def test_encode_json_circular_error_before_later_items() -> None:
    content: list[Any] = []
    content.append(content)
    content.append(float("nan"))

    with pytest.raises(ValueError, match="^Circular reference detected$"):
        _rust.encode_json(content)


def test_encode_json_raised_int_digit_limit() -> None:
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(10_000)
    try:
        content = [10**5000, {-(10**5000): 1}]
        assert _rust.encode_json(content) == _render(content)
    finally:
        sys.set_int_max_str_digits(previous)


def test_encode_json_deep_nesting_on_small_stack() -> None:
    outcomes: list[BaseException | bytes] = []

    def encode_deep() -> None:
        for content in (_nested_lists(100_000), _nested_dicts(100_000), _nested_lists(999)):
            try:
                outcomes.append(_rust.encode_json(content))
            except RecursionError as error:
                outcomes.append(error)

    previous = threading.stack_size(2 * 1024 * 1024)
    try:
        thread = threading.Thread(target=encode_deep)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)

    assert len(outcomes) == 3
    assert isinstance(outcomes[0], RecursionError)
    assert isinstance(outcomes[1], RecursionError)
    assert outcomes[2] == b"[" * 999 + b"[]" + b"]" * 999


def test_encode_json_items_not_iterable() -> None:
    class _BadItems(dict[Any, Any]):
        def items(self) -> Any:
            return 5

    _assert_same_as_render(_BadItems(a=1))


def test_encode_json_list_subclass_not_iterable() -> None:
    class _NotIterable(list[Any]):
        __iter__ = None  # type: ignore[assignment]

    _assert_same_as_render(_NotIterable([1]))


def test_encode_json_iterator_error_propagates() -> None:
    class _Broken(list[Any]):
        def __iter__(self) -> Iterator[Any]:
            raise KeyError("broken")

    with pytest.raises(KeyError, match="broken"):
        _rust.encode_json(_Broken([1]))


class _Hook(list[Any]):
    """A list whose `__iter__` runs a callback, as a subclass hook may."""

    def __init__(self, items: list[Any], callback: Callable[[], None]) -> None:
        super().__init__(items)
        self.callback = callback

    def __iter__(self) -> Iterator[Any]:
        self.callback()
        return super().__iter__()


def _dict_changed_by_hook() -> dict[str, Any]:
    outer: dict[str, Any] = {"a": 1}

    def change() -> None:
        del outer["a"]
        outer["late"] = 2
        outer["later"] = 3

    outer["hook"] = _Hook([1], change)
    outer["z"] = 4
    return outer


def _dict_replaced_same_size_by_hook() -> dict[str, Any]:
    outer: dict[str, Any] = {"first": 1}

    def change() -> None:
        del outer["first"]
        outer["replacement"] = 5

    outer["hook"] = _Hook([], change)
    outer["last"] = 2
    return outer


def _nested_dict_changed_by_items() -> dict[str, Any]:
    outer: dict[str, Any] = {"a": 1}

    class _ChangingItems(dict[Any, Any]):
        def items(self) -> Any:
            outer.clear()
            return super().items()

    outer["inner"] = {"sub": _ChangingItems(x=1)}
    outer["b"] = 2
    return outer


def _list_grown_by_hook() -> list[Any]:
    outer: list[Any] = [1]
    outer.append(_Hook([2], lambda: outer.append(3)))
    return outer


def _list_shrunk_by_hook() -> list[Any]:
    outer: list[Any] = [1]
    outer.append(_Hook([2], lambda: outer.pop()))
    outer.append(4)
    return outer


def _fresh_key(prefix: str, number: int) -> str:
    # `join` builds a new string object every time, where a literal or an
    # f-string in a loop could return a shared one.
    return "".join([prefix, str(number)])


def _keys_replaced_by_hook() -> list[Any]:
    """A hook frees the key strings of encoded records and creates new ones
    of the same size, which the allocator is likely to place at the freed
    addresses."""
    first = {_fresh_key("key", n): n for n in range(8)}
    second = dict.fromkeys(first, 0)

    def replace() -> None:
        first.clear()
        second.clear()
        second.update({_fresh_key("new", n): n for n in range(8)})

    return [first, _Hook([], replace), second]


class _FreshKeys(dict[Any, Any]):
    """A dict whose `items()` returns new key strings on every call."""

    def items(self) -> Any:
        return [(_fresh_key("k", key), value) for key, value in super().items()]


MUTATED_BY_HOOKS: list[tuple[str, Callable[[], Any]]] = [
    ("dict changed by __iter__", _dict_changed_by_hook),
    ("dict replaced same size by __iter__", _dict_replaced_same_size_by_hook),
    ("dict changed by nested items()", _nested_dict_changed_by_items),
    ("list grown by __iter__", _list_grown_by_hook),
    ("list shrunk by __iter__", _list_shrunk_by_hook),
    ("keys freed and replaced by __iter__", _keys_replaced_by_hook),
    ("new keys from each items()", lambda: [_FreshKeys({n: n}) for n in range(10, 30)]),
]


@pytest.mark.parametrize(
    "build", [case for _, case in MUTATED_BY_HOOKS], ids=[name for name, _ in MUTATED_BY_HOOKS]
)
def test_encode_json_content_changed_by_hooks(build: Callable[[], Any]) -> None:
    # Each call gets fresh content because the hooks change it.
    assert _outcome(_rust.encode_json, build()) == _outcome(_render, build())


def test_encode_json_dict_changed_by_finalizer() -> None:
    """A finalizer that grows a dict while its entries are read restarts it."""
    events: list[str] = []
    content: dict[str, Any] = {"a": 1, "hook": _Hook([7], lambda: events.append("hook"))}
    content["b"] = 2

    class _Finalizer:
        def __del__(self) -> None:
            events.append("finalizer")
            content["added"] = 3

    # Leave a garbage cycle with a finalizer and make the next allocation of a
    # tracked object collect it. That allocation is the `items()` copy taken
    # before the hook runs, while the dict's entries are being read.
    gc.collect()
    gc.disable()
    garbage = _Finalizer()
    garbage.cycle = garbage  # type: ignore[attr-defined]
    del garbage
    threshold = gc.get_threshold()
    gc.set_threshold(1)
    gc.enable()
    try:
        events.append("call")
        encoded = _rust.encode_json(content)
    finally:
        gc.set_threshold(*threshold)

    assert events[:3] == ["call", "finalizer", "hook"]
    assert encoded == _render(content)
    assert json.loads(encoded) == {"a": 1, "hook": [7], "b": 2, "added": 3}


def test_encode_json_rejects_keyword_argument() -> None:
    with pytest.raises(TypeError):
        _rust.encode_json(content=1)  # type: ignore[call-arg]


_json_keys = st.one_of(
    st.text(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)

_json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True, width=64),
    st.text(),
    st.text(st.characters(max_codepoint=0x7F)),
    st.sampled_from(list(_Number) + list(_Color)),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children),
        st.lists(children).map(tuple),
        st.lists(children).map(_List),
        st.dictionaries(_json_keys, children),
        st.dictionaries(st.text(), children).map(collections.OrderedDict),
        st.dictionaries(_json_keys, children).map(_Dict),
        st.builds(_Point, children, children),
    )


_json_values = st.recursive(_json_leaves, _containers, max_leaves=40)


@given(_json_values)
def test_encode_json_matches_render_for_valid_values(content: Any) -> None:
    assert _rust.encode_json(content) == _render(content)


_shared_keys = st.lists(
    st.one_of(
        st.text(),
        st.text(st.characters(max_codepoint=0x7F), min_size=14, max_size=40),
        st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=100,
    unique=True,
)


def _records_sharing(keys: list[str]) -> st.SearchStrategy[Any]:
    shared = st.sampled_from(keys)
    return st.recursive(
        _json_leaves,
        lambda children: st.one_of(st.lists(children), st.dictionaries(shared, children)),
        max_leaves=60,
    )


@given(_shared_keys.flatmap(_records_sharing))
def test_encode_json_matches_render_for_shared_keys(content: Any) -> None:
    """Dicts that share their key objects, as the rows of a query result do."""
    _assert_same_as_render(content)


_bad_keys = st.sampled_from([(1,), b"k", frozenset({1}), decimal.Decimal(2), _Hashable()])

_invalid_leaves = st.one_of(
    _json_leaves,
    st.floats(),
    st.sampled_from([object(), {1}, b"raw", decimal.Decimal("0.1"), int, _Proxy()]),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1),
    st.text(
        st.one_of(
            st.characters(),
            st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        )
    ),
)


def _invalid_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        _containers(children),
        st.dictionaries(st.one_of(_json_keys, _bad_keys), children),
        st.dictionaries(st.floats(), children),
    )


_invalid_values = st.recursive(_invalid_leaves, _invalid_containers, max_leaves=30)


@given(_invalid_values)
def test_encode_json_matches_render_for_any_values(content: Any) -> None:
    _assert_same_as_render(content)


@given(_invalid_values, st.data())
def test_encode_json_matches_render_for_cycles(content: Any, data: st.DataObject) -> None:
    """Append the outer container to itself, or to one nested inside it."""
    holders: list[list[Any] | dict[Any, Any]] = []

    def collect(value: Any) -> None:
        if type(value) in (list, _List):
            holders.append(value)
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            if type(value) in (dict, _Dict):
                holders.append(value)
            for item in value.values():
                collect(item)
        elif isinstance(value, tuple):
            for item in value:
                collect(item)

    root: list[Any] = [content]
    collect(root)
    holder = data.draw(st.sampled_from(holders))
    if isinstance(holder, list):
        holder.insert(data.draw(st.integers(0, len(holder))), root)
    else:
        holder[data.draw(st.text())] = root

    _assert_same_as_render(root)
