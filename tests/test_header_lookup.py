"""The Rust header lookup against the Python loop of `Headers.__getitem__`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rustlette import _rust


def _python_lookup(raw: Iterable[Any], key: Any) -> str | None:
    name = key.lower().encode("latin-1")
    for item_name, value in raw:
        if item_name == name:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


def _outcome(function: Any, raw: Any, key: Any) -> tuple[str, Any]:
    try:
        return ("returned", function(raw, key))
    except Exception as exc:
        return ("raised", f"{type(exc).__name__}: {exc}")


_names = st.sampled_from([b"host", b"accept", b"x-id", b"X-Id", b"\xe9", b""])
_values = st.binary(max_size=12)
_pairs = st.lists(st.tuples(_names, _values), max_size=8)
_keys = st.sampled_from(["host", "HOST", "Accept", "x-id", "X-ID", "\xe9", "\xc9", "", "missing", "\u212a", "\u0100"])


@given(_pairs, _keys)
@example([(b"x-id", b"1"), (b"x-id", b"2")], "X-ID")
@example([(b"\xe9", b"\xff")], "\xc9")
def test_find_header_matches_python_loop(raw: list[tuple[bytes, bytes]], key: str) -> None:
    assert _outcome(_rust.find_header, raw, key) == _outcome(_python_lookup, raw, key)


@pytest.mark.parametrize(
    "raw",
    [
        [[b"host", b"a"]],
        [(bytearray(b"host"), bytearray(b"\xe9"))],
        [("host", b"a"), (b"host", b"b")],
        [(b"host",)],
        [(b"host", b"a", b"b")],
        [1],
        [(b"other", b"x"), (b"host", "not bytes")],
        iter([(b"host", b"a")]),
    ],
    ids=["lists", "bytearrays", "str-name", "one-item", "three-items", "not-iterable", "str-value", "iterator"],
)
def test_find_header_handles_odd_pairs_like_python(raw: Any) -> None:
    items = list(raw) if not isinstance(raw, list) else raw
    assert _outcome(_rust.find_header, iter(items), "Host") == _outcome(_python_lookup, iter(items), "Host")


@pytest.mark.parametrize("key", [1, None, b"host"])
def test_find_header_rejects_keys_like_python(key: Any) -> None:
    raw = [(b"host", b"a")]
    assert _outcome(_rust.find_header, raw, key) == _outcome(_python_lookup, raw, key)
