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

    def __getitem__(self, key: str) -> str:
        self._has_been_read.add(key)
        return self._environ.__getitem__(key)

    def __setitem__(self, key: str, value: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(f"Attempting to set environ['{key}'], but the value has already been read.")
        self._environ.__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(f"Attempting to delete environ['{key}'], but the value has already been read.")
        self._environ.__delitem__(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


environ = Environ()

T = TypeVar("T")

# The spellings that a bool setting accepts, compared after lower-casing.
_BOOL_VALUES = {"true": True, "1": True, "false": False, "0": False}


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
    def __call__(
        self,
        key: str,
        cast: Callable[[Any], T] = ...,
        default: Any = ...,
    ) -> T: ...

    @overload
    def __call__(self, key: str, cast: type[str] = ..., default: T = ...) -> T | str: ...

    def __call__(
        self,
        key: str,
        cast: Callable[[Any], Any] | None = None,
        default: Any = undefined,
    ) -> Any:
        return self.get(key, cast, default)

    def get(
        self,
        key: str,
        cast: Callable[[Any], Any] | None = None,
        default: Any = undefined,
    ) -> Any:
        """Return the setting `env_prefix + key`, cast with `cast`.

        The environment wins over the file, and the file over `default`. A default is cast
        too. A missing setting without a default raises `KeyError`.
        """
        key = self.env_prefix + key
        if key in self.environ:
            return self._perform_cast(key, self.environ[key], cast)
        if key in self.file_values:
            return self._perform_cast(key, self.file_values[key], cast)
        if default is not undefined:
            return self._perform_cast(key, default, cast)
        raise KeyError(f"Config '{key}' is missing, and has no default.")

    def _read_file(self, file_name: str | Path, encoding: str) -> dict[str, str]:
        """Parse `KEY=value` lines. Comment lines start with `#`, and matching quotes around a value are removed."""
        file_values: dict[str, str] = {}
        with open(file_name, encoding=encoding) as input_file:
            for line in input_file.readlines():
                line = line.strip()
                if line.startswith("#") or "=" not in line:
                    continue
                key, value = line.split("=", 1)
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                    value = value[1:-1]
                file_values[key.strip()] = value
        return file_values

    def _perform_cast(
        self,
        key: str,
        value: Any,
        cast: Callable[[Any], Any] | None = None,
    ) -> Any:
        if cast is None or value is None:
            return value

        if cast is bool and isinstance(value, str):
            # bool("false") is True, so strings are looked up instead of passed to bool.
            value = value.lower()
            if value not in _BOOL_VALUES:
                raise ValueError(f"Config '{key}' has value '{value}'. Not a valid bool.")
            return _BOOL_VALUES[value]

        try:
            return cast(value)
        except (TypeError, ValueError):
            raise ValueError(f"Config '{key}' has value '{value}'. Not a valid {cast.__name__}.")
