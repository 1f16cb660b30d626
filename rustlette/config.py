"""Settings read from environment variables and `.env` files."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, TypeVar, overload


class undefined:
    """Marks a `Config` lookup made without a default, since `None` is a valid default."""


class EnvironError(Exception):
    """Raised on an attempt to change an environment variable that the config already read."""


class Environ(MutableMapping[str, str]):
    """A view of `os.environ` that rejects changes to variables already read.

    A test that sets a variable after the settings module read it would otherwise have
    no effect, silently.
    """

    def __init__(self, environ: MutableMapping[str, str] = os.environ):
        self._environ = environ
        self._has_been_read: set[str] = set()

    def _reject_if_read(self, key: str, action: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(f"Attempting to {action} environ['{key}'], but the value has already been read.")

    def __getitem__(self, key: str) -> str:
        # A lookup of a missing key counts as a read too, because the settings saw the variable absent.
        self._has_been_read.add(key)
        return self._environ[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._reject_if_read(key, "set")
        self._environ[key] = value

    def __delitem__(self, key: str) -> None:
        self._reject_if_read(key, "delete")
        del self._environ[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


environ = Environ()

T = TypeVar("T")

# The spellings that a bool setting accepts, compared after lower-casing.
_BOOL_VALUES = {"true": True, "1": True, "false": False, "0": False}

_QUOTES = ("'", '"')


def _parse_env_line(line: str) -> tuple[str, str] | None:
    """Split one `.env` line into its key and value, or return `None` for a comment or a line without `=`.

    Spaces around the key and the value are dropped, and so is one pair of matching quotes
    around the value: `NAME = "a b"` gives `("NAME", "a b")`.
    """
    line = line.strip()
    if line.startswith("#"):
        return None
    key, equals, value = line.partition("=")
    if not equals:
        return None
    value = value.strip()
    if len(value) > 1 and value[0] in _QUOTES and value[-1] == value[0]:
        value = value[1:-1]
    return key.strip(), value


class Config:
    """Settings read from the environment first and then from an optional `.env` file.

    `config("DEBUG", cast=bool, default=False)` returns the setting cast to the given type.
    """

    def __init__(
        self,
        env_file: str | Path | None = None,
        environ: Mapping[str, str] = environ,
        env_prefix: str = "",
        encoding: str = "utf-8",
    ) -> None:
        self.environ = environ
        self.env_prefix = env_prefix
        self.file_values: dict[str, str] = {}
        if env_file is None:
            return
        if os.path.isfile(env_file):
            self.file_values = self._read_file(env_file, encoding)
        else:
            warnings.warn(f"Config file '{env_file}' not found.")

    @overload
    def __call__(self, key: str, *, default: None) -> str | None: ...

    @overload
    def __call__(self, key: str, cast: type[T], default: T = ...) -> T: ...

    @overload
    def __call__(self, key: str, cast: type[str] = ..., default: str = ...) -> str: ...

    @overload
    def __call__(self, key: str, cast: Callable[[Any], T] = ..., default: Any = ...) -> T: ...

    @overload
    def __call__(self, key: str, cast: type[str] = ..., default: T = ...) -> T | str: ...

    def __call__(self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = undefined) -> Any:
        return self.get(key, cast, default)

    def get(self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = undefined) -> Any:
        """Return the setting `env_prefix + key`, cast with `cast`.

        The environment wins over the file, and the file over `default`. A default is cast
        too. A missing setting without a default raises `KeyError`.
        """
        full_key = self.env_prefix + key
        for source in (self.environ, self.file_values):
            if full_key in source:
                return self._perform_cast(full_key, source[full_key], cast)

        if default is undefined:
            raise KeyError(f"Config '{full_key}' is missing, and has no default.")
        return self._perform_cast(full_key, default, cast)

    def _read_file(self, file_name: str | Path, encoding: str) -> dict[str, str]:
        # A key that appears twice keeps its last value.
        with open(file_name, encoding=encoding) as env_file:
            entries = [_parse_env_line(line) for line in env_file]
        return dict(entry for entry in entries if entry is not None)

    def _perform_cast(self, key: str, value: Any, cast: Callable[[Any], Any] | None = None) -> Any:
        if cast is None or value is None:
            return value

        if cast is not bool or not isinstance(value, str):
            try:
                return cast(value)
            except (TypeError, ValueError):
                raise ValueError(f"Config '{key}' has value '{value}'. Not a valid {cast.__name__}.")

        # bool("false") is True, so a string is looked up instead of passed to bool.
        # The error shows the value lower-cased.
        lowered = value.lower()
        if lowered not in _BOOL_VALUES:
            raise ValueError(f"Config '{key}' has value '{lowered}'. Not a valid bool.")
        return _BOOL_VALUES[lowered]
