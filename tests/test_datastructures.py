from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from differential import Differential, Framework, http_scope

Probe = Callable[[Framework], Any]


def _url_probe(url: str) -> Probe:
    def describe(fw: Framework) -> Any:
        parsed = fw.datastructures.URL(url)
        return (
            str(parsed),
            repr(parsed),
            parsed.scheme,
            parsed.netloc,
            parsed.path,
            parsed.query,
            parsed.fragment,
            parsed.username,
            parsed.password,
            parsed.hostname,
            parsed.port,
            parsed.is_secure,
            parsed == url,
        )

    return describe


@pytest.mark.parametrize(
    "url",
    [
        "",
        "/",
        "https://example.org/path?x=1#frag",
        "http://user:secret@example.org:8080/a%20b?q=%zz",
        "ws://[::1]:9000/socket",
        "//no-scheme/path",
        "relative/path?only=query",
        "http://example.org:notaport/",
        "HTTP://EXAMPLE.org/Case",
    ],
)
def test_url_components(differential: Differential, url: str) -> None:
    differential.compare_call(_url_probe(url), label=f"URL({url!r})")


_URL_OPERATIONS: dict[str, Probe] = {
    "replace-netloc": lambda fw: str(fw.datastructures.URL("http://a.test:1/p").replace(netloc="b.test:2")),
    "replace-hostname": lambda fw: str(fw.datastructures.URL("http://u:p@a.test:1/p").replace(hostname="b.test")),
    "replace-port": lambda fw: str(fw.datastructures.URL("http://[::1]:1/p").replace(port=8000)),
    "replace-port-none": lambda fw: str(fw.datastructures.URL("http://a.test:1/p").replace(port=None)),
    "replace-scheme-path": lambda fw: str(fw.datastructures.URL("http://a.test/p").replace(scheme="https", path="/q")),
    "replace-username": lambda fw: str(fw.datastructures.URL("http://a.test/p").replace(username="me")),
    "include-query": lambda fw: str(fw.datastructures.URL("/p?a=1&b=2").include_query_params(b=3, c="x y")),
    "replace-query": lambda fw: str(fw.datastructures.URL("/p?a=1&a=2").replace_query_params(z="é")),
    "remove-query-one": lambda fw: str(fw.datastructures.URL("/p?a=1&b=2&a=3").remove_query_params("a")),
    "remove-query-many": lambda fw: str(fw.datastructures.URL("/p?a=1&b=2&c=3").remove_query_params(["a", "c"])),
    "components": lambda fw: str(fw.datastructures.URL(scheme="https", netloc="x.test", path="/p", query="q=1")),
    "url-and-scope": lambda fw: fw.datastructures.URL("/x", scope=http_scope("/y")),
    "absolute-path": lambda fw: str(fw.datastructures.URLPath("/p", "http").make_absolute_url("https://b.test/root/")),
    "absolute-websocket": lambda fw: str(
        fw.datastructures.URLPath("/ws", "websocket").make_absolute_url("https://b.test")
    ),
    "absolute-host": lambda fw: str(
        fw.datastructures.URLPath("/p", "http", "other.test").make_absolute_url("http://b.test")
    ),
    "urlpath-invalid-protocol": lambda fw: fw.datastructures.URLPath("/p", "ftp"),
}


@pytest.mark.parametrize("name", list(_URL_OPERATIONS))
def test_url_operations(differential: Differential, name: str) -> None:
    differential.compare_call(_URL_OPERATIONS[name], label=f"URL operation {name}")


@pytest.mark.parametrize(
    ("path", "query_string", "headers", "server", "root_path"),
    [
        ("/a", b"x=1", [(b"host", b"example.org")], ("ignored", 80), ""),
        ("/a?b#c\\d", b"", [(b"host", b"example.org:8000")], None, ""),
        ("//double", b"", [], None, ""),
        ("/p", b"", [], ("10.0.0.1", 80), ""),
        ("/p", b"", [], ("10.0.0.1", 8080), ""),
        ("/p", b"", [], ("::1", 443), ""),
        ("/p", b"", [(b"host", b"bad host")], ("10.0.0.1", 80), ""),
        ("/p", b"", [(b"host", b"example.org:99999")], ("10.0.0.1", 80), ""),
        ("/api/p", b"", [(b"host", b"example.org")], None, "/api"),
        ("/p", b"a=\xc3\xa9", [(b"host", b"example.org")], None, ""),
        ("/p", b"a=\xff", [(b"host", b"example.org")], None, ""),
    ],
)
def test_url_from_scope(
    differential: Differential,
    path: str,
    query_string: bytes,
    headers: list[tuple[bytes, bytes]],
    server: tuple[str, int] | None,
    root_path: str,
) -> None:
    scope = http_scope(path, query_string=query_string, root_path=root_path)
    scope["headers"] = headers
    scope["server"] = server

    def describe(fw: Framework) -> Any:
        return str(fw.datastructures.URL(scope=scope))

    differential.compare_call(describe, label=f"URL(scope) for path {path!r} and headers {headers!r}")


_HEADERS_OPERATIONS: dict[str, Probe] = {
    "from-dict": lambda fw: repr(fw.datastructures.Headers({"A": "1", "b": "2"})),
    "from-raw": lambda fw: repr(fw.datastructures.Headers(raw=[(b"a", b"1"), (b"a", b"2"), (b"b", b"\xe9")])),
    "from-scope": lambda fw: fw.datastructures.Headers(scope=http_scope("/", headers=[(b"x", b"y")])).items(),
    "empty": lambda fw: (repr(fw.datastructures.Headers()), len(fw.datastructures.Headers())),
    "getlist": lambda fw: fw.datastructures.Headers(raw=[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]).getlist("A"),
    "lookups": lambda fw: (
        fw.datastructures.Headers({"Content-Type": "x"})["content-type"],
        "CONTENT-TYPE" in fw.datastructures.Headers({"Content-Type": "x"}),
        fw.datastructures.Headers({"a": "1"}).get("missing", "default"),
        list(fw.datastructures.Headers(raw=[(b"a", b"1"), (b"a", b"2")]).keys()),
        fw.datastructures.Headers(raw=[(b"a", b"1"), (b"a", b"2")])["a"],
    ),
    "missing-key": lambda fw: fw.datastructures.Headers({"a": "1"})["b"],
    "equality": lambda fw: (
        fw.datastructures.Headers({"a": "1", "b": "2"}) == fw.datastructures.Headers({"b": "2", "a": "1"}),
        fw.datastructures.Headers({"a": "1"}) == {"a": "1"},
    ),
    "two-sources": lambda fw: fw.datastructures.Headers({"a": "1"}, raw=[]),
    "non-latin1": lambda fw: fw.datastructures.Headers({"a": "€"}),
    "mutable-ops": lambda fw: _mutate_headers(fw),
    "vary": lambda fw: _vary_headers(fw),
    "mutablecopy": lambda fw: repr(fw.datastructures.Headers({"a": "1"}).mutablecopy()),
    "merge-operators": lambda fw: (
        repr(fw.datastructures.MutableHeaders({"a": "1"}) | {"b": "2"}),
        repr(_ior_headers(fw)),
    ),
    "merge-wrong-type": lambda fw: fw.datastructures.MutableHeaders({"a": "1"}) | [("b", "2")],
}


def _mutate_headers(fw: Framework) -> Any:
    headers = fw.datastructures.MutableHeaders(raw=[(b"a", b"1"), (b"a", b"2"), (b"b", b"3")])
    headers["A"] = "set"
    headers.append("c", "4")
    headers.append("C", "5")
    first = headers.setdefault("b", "unused")
    second = headers.setdefault("d", "6")
    del headers["c"]
    headers.update({"e": "7", "b": "8"})
    return (headers.raw, first, second, repr(headers))


def _vary_headers(fw: Framework) -> Any:
    headers = fw.datastructures.MutableHeaders()
    headers.add_vary_header("Accept")
    headers.add_vary_header("Cookie")
    return headers.raw


def _ior_headers(fw: Framework) -> Any:
    headers = fw.datastructures.MutableHeaders({"a": "1"})
    headers |= {"a": "2", "b": "3"}
    return headers


@pytest.mark.parametrize("name", list(_HEADERS_OPERATIONS))
def test_headers_operations(differential: Differential, name: str) -> None:
    differential.compare_call(_HEADERS_OPERATIONS[name], label=f"Headers operation {name}")


_QUERY_PARAMS_INPUTS: dict[str, Any] = {
    "str": "a=1&b=2&a=3",
    "bytes": b"a=1&b=%C3%A9",
    "latin1-bytes": b"a=\xe9",
    "list": [("a", "1"), ("a", "2")],
    "dict": {"a": "1", "b": "2"},
    "multidict": None,
    "blank-values": "a=&b&=c",
    "spaces": "a=1+2&b=%20",
}


@pytest.mark.parametrize("name", list(_QUERY_PARAMS_INPUTS))
def test_query_params_constructors(differential: Differential, name: str) -> None:
    def describe(fw: Framework) -> Any:
        value = _QUERY_PARAMS_INPUTS[name]
        if name == "multidict":
            value = fw.datastructures.ImmutableMultiDict([("m", "1"), ("m", "2")])
        params = fw.datastructures.QueryParams(value)
        return (
            str(params),
            repr(params),
            params.multi_items(),
            params.getlist("a"),
            dict(params),
            list(params.keys()),
            list(params.values()),
            len(params),
            "a" in params,
            params == fw.datastructures.QueryParams(str(params)),
        )

    differential.compare_call(describe, label=f"QueryParams from {name}")


def test_query_params_keyword_arguments(differential: Differential) -> None:
    differential.compare_call(
        lambda fw: repr(fw.datastructures.QueryParams("a=1", b="2", c="3")), label="QueryParams with kwargs"
    )


@settings(max_examples=200)
@given(raw=st.binary(max_size=60) | st.text(alphabet="ab=&;%+2cFé \x00", max_size=40).map(str.encode))
def test_query_params_fuzzed(differential: Differential, raw: bytes) -> None:
    def describe(fw: Framework) -> Any:
        from_bytes = fw.datastructures.QueryParams(raw)
        from_text = fw.datastructures.QueryParams(raw.decode("latin-1"))
        return (from_bytes.multi_items(), str(from_bytes), from_text.multi_items())

    differential.compare_call(describe, label=f"QueryParams({raw!r})")


def _multidict_operations(fw: Framework) -> Any:
    multi = fw.datastructures.MultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    log: list[Any] = [repr(multi)]
    multi["c"] = "4"
    log.append(multi.pop("b"))
    log.append(multi.pop("missing", "default"))
    log.append(multi.setdefault("a", "unused"))
    log.append(multi.setdefault("d", "5"))
    multi.append("a", "6")
    log.append(multi.getlist("a"))
    multi.setlist("e", ["7", "8"])
    multi.setlist("c", [])
    log.append(multi.poplist("e"))
    log.append(multi.poplist("never"))
    multi.update([("f", "9")], g="10")
    multi.update({"a": "only"})
    log.append(multi.multi_items())
    log.append(multi.popitem())
    del multi["a"]
    log.append(repr(multi))
    multi.clear()
    log.append((repr(multi), len(multi)))
    return log


def test_multidict_mutations(differential: Differential) -> None:
    differential.compare_call(_multidict_operations, label="MultiDict mutations")


def test_multidict_equality_and_errors(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        immutable = fw.datastructures.ImmutableMultiDict
        first = immutable([("a", "1"), ("b", "2")])
        second = immutable([("b", "2"), ("a", "1")])
        third = immutable([("a", "1"), ("a", "2")])
        results: list[Any] = [first == second, first == third, first == {"a": "1"}, third["a"], repr(third)]
        try:
            third["missing"]
        except KeyError as exc:
            results.append(repr(exc))
        results.append(repr(immutable({"k": "v"}, extra="x")))
        return results

    differential.compare_call(describe, label="ImmutableMultiDict equality and lookups")


def test_state_attributes(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        backing: dict[str, Any] = {"preset": 1}
        state = fw.datastructures.State(backing)
        state.added = 2
        del state.preset
        results: list[Any] = [backing, state.added, state._state is backing]
        for action in ("read", "delete"):
            try:
                if action == "read":
                    state.preset
                else:
                    del state.preset
            except AttributeError as exc:
                results.append(str(exc))
        return results

    differential.compare_call(describe, label="State attribute access")


def test_state_copy_recurses_like_starlette(differential: Differential) -> None:
    # Starlette's State has no copy or pickle support: rebuilding one calls
    # __getattr__ before `_state` exists, which recurses. Rustlette keeps that.
    def describe(fw: Framework) -> Any:
        results: list[str] = []
        for rebuild in (copy.copy, lambda state: pickle.loads(pickle.dumps(state))):
            try:
                rebuild(fw.datastructures.State({"a": 1}))
            except RecursionError as exc:
                results.append(type(exc).__name__)
        return results

    differential.compare_call(describe, label="State copy and pickle")


_SMALL_TYPES: dict[str, Probe] = {
    "address": lambda fw: (repr(fw.datastructures.Address("127.0.0.1", 80)), fw.datastructures.Address("h", 1).port),
    "secret": lambda fw: (
        repr(fw.datastructures.Secret("hunter2")),
        str(fw.datastructures.Secret("hunter2")),
        bool(fw.datastructures.Secret("")),
    ),
    "comma-separated": lambda fw: (
        list(fw.datastructures.CommaSeparatedStrings(" a, b ,c,, ")),
        repr(fw.datastructures.CommaSeparatedStrings("a,'b c'")),
        str(fw.datastructures.CommaSeparatedStrings(["x", "y"])),
        fw.datastructures.CommaSeparatedStrings("a,b,c")[1:],
        len(fw.datastructures.CommaSeparatedStrings("")),
    ),
}


@pytest.mark.parametrize("name", list(_SMALL_TYPES))
def test_small_datastructures(differential: Differential, name: str) -> None:
    differential.compare_call(_SMALL_TYPES[name], label=f"datastructure {name}")


def test_upload_file_roundtrip(differential: Differential) -> None:
    def describe(fw: Framework) -> Any:
        import io

        import anyio

        async def main() -> Any:
            upload = fw.datastructures.UploadFile(
                io.BytesIO(), size=0, filename="a.txt", headers=fw.datastructures.Headers({"content-type": "text/x"})
            )
            await upload.write(b"hello ")
            await upload.write(b"world")
            await upload.seek(0)
            first = await upload.read(5)
            rest = await upload.read()
            text = repr(upload)
            await upload.close()
            return (first, rest, upload.size, upload.content_type, upload.filename, text)

        return anyio.run(main)

    differential.compare_call(describe, label="UploadFile write, seek, read")
