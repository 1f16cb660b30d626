"""Differential tests for `config`: `.env` parsing, casts, defaults and `Environ`."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from differential import Differential, Framework

_ENV_FILE = """\
# A comment line
DATABASE_URL=postgres://user:pass@localhost/dbname
REQUEST_HOSTNAME = example.com
SECRET_KEY=12345
BOOL_AS_INT=0
SPACED =   padded value
DOUBLE_QUOTED="quoted # not a comment"
SINGLE_QUOTED='single'
MISMATCHED_QUOTES="open'
ONE_QUOTE="
EMPTY=
EQUALS_IN_VALUE=a=b=c
  # An indented comment
NO_EQUALS_SIGN
=no key
#COMMENTED=out
INLINE=value # stays in the value
DUPLICATE=first
DUPLICATE=second
UNICODE=café ✓
PREFIXED_NAME=from file
"""
# Kept out of the block above, so that the trailing spaces are visible.
_ENV_FILE += "TRAILING_SPACES=value   \n"


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text(_ENV_FILE, encoding="utf-8")
    return path


def _lookups(fw: Framework, config: Any) -> list[Any]:
    """Read every key of `_ENV_FILE` and some casts, recording results or exceptions."""
    datastructures = fw.datastructures
    CommaSeparatedStrings = datastructures.CommaSeparatedStrings
    lookups: list[tuple[str, Callable[[], Any]]] = [
        ("DATABASE_URL", lambda: config("DATABASE_URL")),
        ("DATABASE_URL as URL", lambda: str(config("DATABASE_URL", cast=datastructures.URL))),
        ("REQUEST_HOSTNAME", lambda: config("REQUEST_HOSTNAME")),
        ("SECRET_KEY as Secret", lambda: repr(config("SECRET_KEY", cast=datastructures.Secret))),
        ("SECRET_KEY as int", lambda: config("SECRET_KEY", cast=int)),
        ("BOOL_AS_INT as bool", lambda: config("BOOL_AS_INT", cast=bool)),
        ("SPACED", lambda: config("SPACED")),
        ("TRAILING_SPACES", lambda: config("TRAILING_SPACES")),
        ("DOUBLE_QUOTED", lambda: config("DOUBLE_QUOTED")),
        ("SINGLE_QUOTED", lambda: config("SINGLE_QUOTED")),
        ("MISMATCHED_QUOTES", lambda: config("MISMATCHED_QUOTES")),
        ("ONE_QUOTE", lambda: config("ONE_QUOTE")),
        ("EMPTY", lambda: config("EMPTY")),
        ("EQUALS_IN_VALUE", lambda: config("EQUALS_IN_VALUE")),
        ("NO_EQUALS_SIGN", lambda: config("NO_EQUALS_SIGN")),
        ("empty key", lambda: config("")),
        ("COMMENTED", lambda: config("COMMENTED", default="absent")),
        ("#COMMENTED", lambda: config("#COMMENTED", default="absent")),
        ("INLINE", lambda: config("INLINE")),
        ("DUPLICATE", lambda: config("DUPLICATE")),
        ("UNICODE", lambda: config("UNICODE")),
        ("MISSING", lambda: config("MISSING")),
        ("MISSING default None", lambda: config("MISSING", default=None)),
        ("MISSING default None cast", lambda: config("MISSING", cast=int, default=None)),
        ("MISSING default str cast", lambda: config("MISSING", cast=int, default="42")),
        ("MISSING default bool cast", lambda: config("MISSING", cast=bool, default="TRUE")),
        ("MISSING default bool 1", lambda: config("MISSING", cast=bool, default="1")),
        ("MISSING default bool False", lambda: config("MISSING", cast=bool, default="False")),
        ("MISSING default non-str bool", lambda: config("MISSING", cast=bool, default=0)),
        ("MISSING default bad bool", lambda: config("MISSING", cast=bool, default="yes")),
        ("MISSING default bad int", lambda: config("MISSING", cast=int, default="4.5")),
        ("MISSING default bad float", lambda: config("MISSING", cast=float, default="many")),
        ("MISSING default list", lambda: list(config("MISSING", cast=CommaSeparatedStrings, default="a, b,c"))),
        ("MISSING default TypeError", lambda: config("MISSING", cast=int, default=[1])),
        ("MISSING via get", lambda: config.get("MISSING", None, "fallback")),
        ("cast raising KeyError", lambda: config("SECRET_KEY", cast=lambda value: {}[value])),
        ("cast lambda", lambda: config("SECRET_KEY", cast=lambda value: value * 2)),
        ("ENVIRON_ONLY", lambda: config("ENVIRON_ONLY", cast=float)),
        ("OVERRIDDEN", lambda: config("DATABASE_URL", default="unused")),
        ("file_values", lambda: dict(config.file_values)),
    ]
    results: list[tuple[Any, ...]] = []
    for label, lookup in lookups:
        try:
            results.append((label, "returned", lookup()))
        except Exception as exc:
            results.append((label, "raised", type(exc).__name__, str(exc)))
    return results


@pytest.mark.parametrize("source", ["path", "str"])
def test_config_from_env_file(differential: Differential, env_file: Path, source: str) -> None:
    def run(fw: Framework) -> Any:
        config_module = fw.module("config")
        file_argument = env_file if source == "path" else str(env_file)
        config = config_module.Config(file_argument, environ={"ENVIRON_ONLY": "1.5", "DATABASE_URL": "sqlite://"})
        return _lookups(fw, config)

    _, results = differential.compare_call(run, label=f"Config from a .env file given as {source}")
    assert ("DOUBLE_QUOTED", "returned", "quoted # not a comment") in results
    assert ("OVERRIDDEN", "returned", "sqlite://") in results
    assert ("MISSING default bool 1", "returned", True) in results


def test_config_prefix(differential: Differential, env_file: Path) -> None:
    def run(fw: Framework) -> Any:
        config = fw.module("config").Config(env_file, environ={"PREFIXED_ENV": "env"}, env_prefix="PREFIXED_")
        results = []
        for key in ("NAME", "ENV", "MISSING", "PREFIXED_NAME"):
            try:
                results.append(config(key))
            except KeyError as exc:
                results.append(str(exc))
        return results, config.env_prefix

    _, (results, _) = differential.compare_call(run, label="Config with env_prefix")
    assert results[:2] == ["from file", "env"]


def test_config_encoding(differential: Differential, tmp_path: Path) -> None:
    path = tmp_path / "latin1.env"
    path.write_bytes("NAME=caf\u00e9\n".encode("latin-1"))

    def run(fw: Framework) -> Any:
        Config = fw.module("config").Config
        results = [Config(path, environ={}, encoding="latin-1")("NAME")]
        try:
            Config(path, environ={})
        except UnicodeDecodeError as exc:
            results.append(exc.reason)
        return results

    _, results = differential.compare_call(run, label="Config with encoding")
    assert results[0] == "café"


def test_config_missing_file_warns(differential: Differential, tmp_path: Path) -> None:
    def run(fw: Framework) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = fw.module("config").Config(tmp_path / "missing.env", environ={"A": "1"})
        return (
            [(warning.category.__name__, str(warning.message)) for warning in caught],
            config.file_values,
            config("A"),
        )

    _, (caught, _, _) = differential.compare_call(run, label="Config with a missing env file")
    assert caught == [("UserWarning", f"Config file '{tmp_path / 'missing.env'}' not found.")]


def test_config_directory_as_env_file(differential: Differential, tmp_path: Path) -> None:
    def run(fw: Framework) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = fw.module("config").Config(tmp_path, environ={})
        return [str(warning.message) for warning in caught], config.file_values

    differential.compare_call(run, label="Config with a directory as env file")


def test_config_reads_os_environ_by_default(differential: Differential, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUSTLETTE_CONFIG_TEST", "from os.environ")

    def run(fw: Framework) -> Any:
        config_module = fw.module("config")
        config = config_module.Config()
        return (
            config("RUSTLETTE_CONFIG_TEST"),
            config.file_values,
            type(config.environ).__name__,
            config.environ is config_module.environ,
        )

    _, result = differential.compare_call(run, label="Config without arguments")
    assert result == ("from os.environ", {}, "Environ", True)


def test_environ_rejects_changes_after_read(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        config_module = fw.module("config")
        backing = {"READ": "1", "UNREAD": "2"}
        environ = config_module.Environ(backing)
        steps: list[Any] = []
        environ["NEW"] = "3"
        del environ["UNREAD"]
        steps.append(environ["READ"])
        actions: list[Callable[[], Any]] = [
            lambda: environ.__setitem__("READ", "x"),
            lambda: environ.__delitem__("READ"),
        ]
        for action in actions:
            try:
                action()
            except config_module.EnvironError as exc:
                steps.append(("EnvironError", str(exc)))
        steps.append((sorted(environ), len(environ), dict(backing), "READ" in environ))
        try:
            environ["ABSENT"]
        except KeyError as exc:
            steps.append(("KeyError", str(exc)))
        try:
            environ["ABSENT"] = "now set"
        except config_module.EnvironError as exc:
            steps.append(("EnvironError", str(exc)))
        steps.append(issubclass(config_module.EnvironError, Exception))
        return steps

    _, steps = differential.compare_call(run, label="Environ read tracking")
    assert steps[1] == ("EnvironError", "Attempting to set environ['READ'], but the value has already been read.")


def test_environ_default_wraps_os_environ(differential: Differential, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUSTLETTE_ENVIRON_TEST", "value")

    def run(fw: Framework) -> Any:
        environ = fw.module("config").Environ()
        return environ["RUSTLETTE_ENVIRON_TEST"], "RUSTLETTE_ENVIRON_TEST" in list(environ)

    assert differential.compare_call(run, label="Environ() over os.environ") == ("returned", ("value", True))


def test_undefined_marker(differential: Differential) -> None:
    def run(fw: Framework) -> Any:
        config_module = fw.module("config")
        config = config_module.Config(environ={})
        try:
            config("KEY", default=config_module.undefined)
        except KeyError as exc:
            return str(exc), isinstance(config_module.undefined, type)
        return None  # pragma: no cover

    differential.compare_call(run, label="undefined passed as the default")
