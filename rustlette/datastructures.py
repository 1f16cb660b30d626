from __future__ import annotations

import ipaddress
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, MutableMapping, Sequence, ValuesView
from operator import itemgetter
from shlex import shlex
from typing import Any, BinaryIO, Literal, NamedTuple, TypeVar, cast
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from rustlette import _rust
from rustlette._utils import parse_host_header
from rustlette.concurrency import run_in_threadpool
from rustlette.types import Scope


class Address(NamedTuple):
    """The host and port of a network peer, as ASGI gives them in `client` and `server`."""

    host: str
    port: int


_KeyType = TypeVar("_KeyType")
# Values are covariant because an immutable mapping only returns them.
_CovariantValueType = TypeVar("_CovariantValueType", covariant=True)

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class URL:
    """A URL string with its components parsed on first access."""

    def __init__(
        self,
        url: str = "",
        scope: Scope | None = None,
        **components: Any,
    ) -> None:
        if scope is not None:
            assert not url, 'Cannot set both "url" and "scope".'
            assert not components, 'Cannot set both "scope" and "**components".'
            url = _build_url_from_scope(scope)
        elif components:
            assert not url, 'Cannot set both "url" and "**components".'
            url = URL("").replace(**components).components.geturl()

        self._url = url

    @property
    def components(self) -> SplitResult:
        if not hasattr(self, "_components"):
            self._components = urlsplit(self._url)
        return self._components

    @property
    def scheme(self) -> str:
        return self.components.scheme

    @property
    def netloc(self) -> str:
        return self.components.netloc

    @property
    def path(self) -> str:
        return self.components.path

    @property
    def query(self) -> str:
        return self.components.query

    @property
    def fragment(self) -> str:
        return self.components.fragment

    @property
    def username(self) -> None | str:
        return self.components.username

    @property
    def password(self) -> None | str:
        return self.components.password

    @property
    def hostname(self) -> None | str:
        return self.components.hostname

    @property
    def port(self) -> int | None:
        return self.components.port

    @property
    def is_secure(self) -> bool:
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: Any) -> URL:
        """Return a copy with the given `SplitResult` fields, or netloc parts, replaced.

        `hostname`, `port`, `username` and `password` are merged into a new netloc. A bare
        IPv6 address given as `hostname` gets its brackets.
        """
        if "username" in kwargs or "password" in kwargs or "hostname" in kwargs or "port" in kwargs:
            hostname = kwargs.pop("hostname", None)
            port = kwargs.pop("port", self.port)
            username = kwargs.pop("username", self.username)
            password = kwargs.pop("password", self.password)

            if hostname is None:
                # Keep the current host: drop any userinfo, and the port unless the host
                # ends with the bracket of an IPv6 literal.
                hostname = self.netloc.rpartition("@")[2]
                if hostname and hostname[-1] != "]":
                    hostname = hostname.rsplit(":", 1)[0]
            elif ":" in hostname and not hostname.startswith("["):
                try:
                    ipaddress.IPv6Address(hostname)
                except ValueError:
                    pass
                else:
                    hostname = f"[{hostname}]"

            netloc = hostname
            if port is not None:
                netloc += f":{port}"
            if username is not None:
                userinfo = username if password is None else f"{username}:{password}"
                netloc = f"{userinfo}@{netloc}"

            kwargs["netloc"] = netloc

        components = self.components._replace(**kwargs)
        return self.__class__(components.geturl())

    def include_query_params(self, **kwargs: Any) -> URL:
        params = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        params.update({str(key): str(value) for key, value in kwargs.items()})
        return self.replace(query=urlencode(params.multi_items()))

    def replace_query_params(self, **kwargs: Any) -> URL:
        query = urlencode([(str(key), str(value)) for key, value in kwargs.items()])
        return self.replace(query=query)

    def remove_query_params(self, keys: str | Sequence[str]) -> URL:
        if isinstance(keys, str):
            keys = [keys]
        params = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        for key in keys:
            params.pop(key, None)
        return self.replace(query=urlencode(params.multi_items()))

    def __eq__(self, other: Any) -> bool:
        return str(self) == str(other)

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        url = str(self)
        if self.password:
            url = str(self.replace(password="********"))
        return f"{self.__class__.__name__}({url!r})"


def _build_url_from_scope(scope: Scope) -> str:
    scheme = scope.get("scheme", "http")
    server = scope.get("server", None)
    # These characters in a decoded path would otherwise start the query or the fragment,
    # or be read as a path separator by some clients.
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"").decode()

    host_header = None
    for key, value in scope["headers"]:
        if key == b"host":
            host_header = value.decode("latin-1")
            break

    # An invalid Host header is ignored in favour of the server address.
    parsed_host = parse_host_header(host_header)
    if parsed_host is not None and parsed_host.is_valid_port:
        netloc: str | None = parsed_host.authority
    elif server is not None:
        host, port = server
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        netloc = host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    else:
        netloc = None

    if netloc is not None:
        return SplitResult(scheme=scheme, netloc=netloc, path=path, query=query, fragment="").geturl()

    if path.startswith("//"):
        # With no authority in front, `//x` would be read as the host `x`.
        path = "/%2F" + path[2:]
    return f"{path}?{query}" if query else path


class URLPath(str):
    """A URL path returned by `url_path_for`, which also stores the protocol and host of its route."""

    def __new__(cls, path: str, protocol: Literal["http", "websocket", ""] = "", host: str = "") -> URLPath:
        assert protocol in ("http", "websocket", "")
        path = path.replace("\\", "%5C")
        if path.startswith("//"):
            # `//x` would be read as the host `x` once the path is joined to a base URL.
            path = "/%2F" + path[2:]
        return str.__new__(cls, path)

    def __init__(self, path: str, protocol: Literal["http", "websocket", ""] = "", host: str = "") -> None:
        self.protocol = protocol
        self.host = host

    def make_absolute_url(self, base_url: str | URL) -> URL:
        if isinstance(base_url, str):
            base_url = URL(base_url)

        if self.protocol == "http":
            scheme = "https" if base_url.is_secure else "http"
        elif self.protocol == "websocket":
            scheme = "wss" if base_url.is_secure else "ws"
        else:
            scheme = base_url.scheme

        netloc = self.host or base_url.netloc
        path = base_url.path.rstrip("/") + str(self)
        return URL(scheme=scheme, netloc=netloc, path=path)


class Secret:
    """A string that its repr hides, so that it stays out of tracebacks and logs.

    Call `str()` on it where the value itself is needed.
    """

    def __init__(self, value: str):
        self._value = value

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}('**********')"

    def __str__(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)


class CommaSeparatedStrings(Sequence[str]):
    """A sequence of strings read from a comma-separated value, where items may be quoted."""

    def __init__(self, value: str | Sequence[str]):
        if isinstance(value, str):
            # Split on commas only, with shell quoting, so `'a, b', c` gives two items.
            splitter = shlex(value, posix=True)
            splitter.whitespace = ","
            splitter.whitespace_split = True
            self._items = [item.strip() for item in splitter]
        else:
            self._items = list(value)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int | slice) -> Any:
        return self._items[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({list(self)!r})"

    def __str__(self) -> str:
        return ", ".join(repr(item) for item in self)


class ImmutableMultiDict(Mapping[_KeyType, _CovariantValueType]):
    """A read-only mapping that keeps every value of a repeated key, in order.

    Indexing returns the last value of a key, and `getlist` returns all of them.
    """

    _dict: dict[_KeyType, _CovariantValueType]

    def __init__(
        self,
        *args: ImmutableMultiDict[_KeyType, _CovariantValueType]
        | Mapping[_KeyType, _CovariantValueType]
        | Iterable[tuple[_KeyType, _CovariantValueType]],
        **kwargs: Any,
    ) -> None:
        assert len(args) < 2, "Too many arguments."

        value: Any = args[0] if args else []
        if kwargs:
            value = ImmutableMultiDict(value).multi_items() + ImmutableMultiDict(kwargs).multi_items()

        items: list[tuple[Any, Any]]
        if not value:
            items = []
        elif hasattr(value, "multi_items"):
            items = list(cast(ImmutableMultiDict[_KeyType, _CovariantValueType], value).multi_items())
        elif hasattr(value, "items"):
            items = list(cast(Mapping[_KeyType, _CovariantValueType], value).items())
        else:
            items = list(cast("Iterable[tuple[Any, Any]]", value))

        self._dict = {key: item_value for key, item_value in items}
        self._list = items

    def getlist(self, key: Any) -> list[_CovariantValueType]:
        return [item_value for item_key, item_value in self._list if item_key == key]

    def keys(self) -> KeysView[_KeyType]:
        return self._dict.keys()

    def values(self) -> ValuesView[_CovariantValueType]:
        return self._dict.values()

    def items(self) -> ItemsView[_KeyType, _CovariantValueType]:
        return self._dict.items()

    def multi_items(self) -> list[tuple[_KeyType, _CovariantValueType]]:
        return list(self._list)

    def __getitem__(self, key: _KeyType) -> _CovariantValueType:
        return self._dict[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[_KeyType]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, self.__class__):
            return False
        # The order of distinct keys does not count, the order of one key's values does:
        # sorting is stable and compares keys only.
        by_key = itemgetter(0)
        return sorted(self._list, key=by_key) == sorted(other._list, key=by_key)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.multi_items()!r})"


class MultiDict(ImmutableMultiDict[Any, Any]):
    """A mutable multidict. Setting a key replaces all of its values."""

    def __setitem__(self, key: Any, value: Any) -> None:
        self.setlist(key, [value])

    def __delitem__(self, key: Any) -> None:
        self._list = [(k, v) for k, v in self._list if k != key]
        del self._dict[key]

    def pop(self, key: Any, default: Any = None) -> Any:
        self._list = [(k, v) for k, v in self._list if k != key]
        return self._dict.pop(key, default)

    def popitem(self) -> tuple[Any, Any]:
        key, value = self._dict.popitem()
        self._list = [(k, v) for k, v in self._list if k != key]
        return key, value

    def poplist(self, key: Any) -> list[Any]:
        values = [v for k, v in self._list if k == key]
        self.pop(key)
        return values

    def clear(self) -> None:
        self._dict.clear()
        self._list.clear()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self._dict[key] = default
            self._list.append((key, default))
        return self[key]

    def setlist(self, key: Any, values: list[Any]) -> None:
        """Replace all values of `key` with `values`, moved to the end. An empty list removes the key."""
        if not values:
            self.pop(key, None)
            return

        others = [(k, v) for k, v in self._list if k != key]
        self._list = others + [(key, value) for value in values]
        self._dict[key] = values[-1]

    def append(self, key: Any, value: Any) -> None:
        self._list.append((key, value))
        self._dict[key] = value

    def update(
        self,
        *args: MultiDict | Mapping[Any, Any] | list[tuple[Any, Any]],
        **kwargs: Any,
    ) -> None:
        """Replace the values of every key given, keeping all values given for each of them."""
        new = MultiDict(*args, **kwargs)
        kept = [(k, v) for k, v in self._list if k not in new.keys()]
        self._list = kept + new.multi_items()
        self._dict.update(new)


class QueryParams(ImmutableMultiDict[str, str]):
    """An immutable multidict of query parameters, built from a query string or from pairs."""

    def __init__(
        self,
        *args: ImmutableMultiDict[Any, Any] | Mapping[Any, Any] | list[tuple[Any, Any]] | str | bytes,
        **kwargs: Any,
    ) -> None:
        assert len(args) < 2, "Too many arguments."

        value = args[0] if args else []
        if isinstance(value, str | bytes):
            super().__init__(_parse_query_string(value), **kwargs)
        else:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

        self._list = [(str(k), str(v)) for k, v in self._list]
        self._dict = {str(k): str(v) for k, v in self._dict.items()}

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({str(self)!r})"


def _parse_query_string(query: str | bytes) -> list[tuple[str, str]]:
    """Parse a query string into pairs, with blank values kept, as `urllib.parse.parse_qsl`.

    `bytes` are read as Latin-1, the way ASGI servers fill `scope["query_string"]`.
    """
    try:
        return _rust.parse_query_string(query)
    except UnicodeEncodeError:
        # The extension takes UTF-8 text, which a str with lone surrogates cannot become.
        assert isinstance(query, str)
        return parse_qsl(query, keep_blank_values=True)


class UploadFile:
    """A file from a multipart form, stored in memory or spooled to disk."""

    def __init__(
        self,
        file: BinaryIO,
        *,
        size: int | None = None,
        filename: str | None = None,
        headers: Headers | None = None,
    ) -> None:
        self.filename = filename
        self.file = file
        self.size = size
        self.headers = headers or Headers()

        # The memory limit of a SpooledTemporaryFile, read once. 0 means no limit, as in
        # SpooledTemporaryFile itself.
        self._max_mem_size = getattr(self.file, "_max_size", 0)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type", None)

    @property
    def _in_memory(self) -> bool:
        # Only a SpooledTemporaryFile that has not rolled over to disk is in memory.
        rolled_to_disk = getattr(self.file, "_rolled", True)
        return not rolled_to_disk

    def _will_roll(self, size_to_add: int) -> bool:
        """Tell whether writing `size_to_add` more bytes touches the disk."""
        if not self._in_memory:
            return True

        future_size = self.file.tell() + size_to_add
        return bool(future_size > self._max_mem_size) if self._max_mem_size else False

    async def write(self, data: bytes) -> None:
        if self.size is not None:
            self.size += len(data)

        # Disk writes go to a worker thread so that they do not block the event loop.
        if self._will_roll(len(data)):
            await run_in_threadpool(self.file.write, data)
        else:
            self.file.write(data)

    async def read(self, size: int = -1) -> bytes:
        if self._in_memory:
            return self.file.read(size)
        return await run_in_threadpool(self.file.read, size)

    async def seek(self, offset: int) -> None:
        if self._in_memory:
            self.file.seek(offset)
        else:
            await run_in_threadpool(self.file.seek, offset)

    async def close(self) -> None:
        if self._in_memory:
            self.file.close()
        else:
            await run_in_threadpool(self.file.close)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(filename={self.filename!r}, size={self.size!r}, headers={self.headers!r})"


class FormData(ImmutableMultiDict[str, UploadFile | str]):
    """An immutable multidict of form fields, whose values are strings or uploaded files."""

    def __init__(
        self,
        *args: FormData | Mapping[str, str | UploadFile] | list[tuple[str, str | UploadFile]],
        **kwargs: str | UploadFile,
    ) -> None:
        super().__init__(*args, **kwargs)

    async def close(self) -> None:
        """Close every uploaded file in the form."""
        for _, value in self.multi_items():
            if isinstance(value, UploadFile):
                await value.close()


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive multidict of HTTP headers, stored as raw Latin-1 bytes.

    Names are stored lowercased, and `len()` counts every header line, repeats included.
    """

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: list[tuple[bytes, bytes]] | None = None,
        scope: MutableMapping[str, Any] | None = None,
    ) -> None:
        self._list: list[tuple[bytes, bytes]] = []
        if headers is not None:
            assert raw is None, 'Cannot set both "headers" and "raw".'
            assert scope is None, 'Cannot set both "headers" and "scope".'
            self._list = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()]
        elif raw is not None:
            assert scope is None, 'Cannot set both "raw" and "scope".'
            self._list = raw
        elif scope is not None:
            # ASGI allows any iterable here. Storing the list back into the scope lets
            # MutableHeaders built from the same scope edit the request headers in place.
            self._list = scope["headers"] = list(scope["headers"])

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return list(self._list)

    def keys(self) -> list[str]:  # type: ignore[override]
        return [key.decode("latin-1") for key, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]
        return [value.decode("latin-1") for _, value in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(key.decode("latin-1"), value.decode("latin-1")) for key, value in self._list]

    def getlist(self, key: str) -> list[str]:
        raw_key = key.lower().encode("latin-1")
        return [value.decode("latin-1") for item_key, value in self._list if item_key == raw_key]

    def mutablecopy(self) -> MutableHeaders:
        return MutableHeaders(raw=self._list[:])

    def __getitem__(self, key: str) -> str:
        raw_key = key.lower().encode("latin-1")
        for item_key, value in self._list:
            if item_key == raw_key:
                return value.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        raw_key = key.lower().encode("latin-1")
        return any(item_key == raw_key for item_key, _ in self._list)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Headers):
            return False
        return sorted(self._list) == sorted(other._list)

    def __repr__(self) -> str:
        as_dict = dict(self.items())
        # A dict would hide repeated headers, so those print as raw pairs.
        if len(as_dict) == len(self):
            return f"{self.__class__.__name__}({as_dict!r})"
        return f"{self.__class__.__name__}(raw={self.raw!r})"


class MutableHeaders(Headers):
    """Headers that can be edited. `raw` is the underlying list itself, not a copy."""

    def __setitem__(self, key: str, value: str) -> None:
        """Set the header `key` to `value`, in the place of its first occurrence.

        Later occurrences are removed, and a new header goes at the end.
        """
        raw_key = key.lower().encode("latin-1")
        raw_value = value.encode("latin-1")

        found = [index for index, (item_key, _) in enumerate(self._list) if item_key == raw_key]
        for index in reversed(found[1:]):
            del self._list[index]

        if found:
            self._list[found[0]] = (raw_key, raw_value)
        else:
            self._list.append((raw_key, raw_value))

    def __delitem__(self, key: str) -> None:
        """Remove every occurrence of the header `key`. A missing header is not an error."""
        raw_key = key.lower().encode("latin-1")
        # Edit the list in place, because a response's `raw_headers` is this same list.
        self._list[:] = [(item_key, value) for item_key, value in self._list if item_key != raw_key]

    def __ior__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            raise TypeError(f"Expected a mapping but got {other.__class__.__name__}")
        self.update(other)
        return self

    def __or__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            raise TypeError(f"Expected a mapping but got {other.__class__.__name__}")
        new = self.mutablecopy()
        new.update(other)
        return new

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return self._list

    def setdefault(self, key: str, value: str) -> str:
        """Add the header `key` with `value` unless it exists, and return its current value."""
        raw_key = key.lower().encode("latin-1")
        raw_value = value.encode("latin-1")

        for item_key, item_value in self._list:
            if item_key == raw_key:
                return item_value.decode("latin-1")
        self._list.append((raw_key, raw_value))
        return value

    def update(self, other: Mapping[str, str]) -> None:
        for key, value in other.items():
            self[key] = value

    def append(self, key: str, value: str) -> None:
        """Add a header at the end, keeping any earlier header of the same name."""
        self._list.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def add_vary_header(self, vary: str) -> None:
        self["vary"] = ", ".join([*self.getlist("vary"), vary])


class State:
    """A namespace for arbitrary values, readable as attributes and as items.

    `request.state` and `app.state` are instances. Values live in the dict given to the
    constructor, so the dict and the state object see the same changes.
    """

    _state: dict[str, Any]

    def __init__(self, state: dict[str, Any] | None = None):
        if state is None:
            state = {}
        super().__setattr__("_state", state)

    def __setattr__(self, key: Any, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: Any) -> Any:
        # Starlette reads `self._state` here too, so copying or unpickling a State
        # recurses until RecursionError in both, before `_state` is set.
        try:
            return self._state[key]
        except KeyError:
            raise AttributeError(f"'{self.__class__.__name__}' object has no attribute '{key}'")

    def __delattr__(self, key: Any) -> None:
        del self._state[key]

    def __getitem__(self, key: str) -> Any:
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)
