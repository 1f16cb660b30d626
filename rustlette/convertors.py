from __future__ import annotations

import math
import uuid
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")


class Convertor(Generic[T]):
    """A path parameter type: the regex it matches and the conversions both ways."""

    regex: ClassVar[str] = ""

    def convert(self, value: str) -> T:
        raise NotImplementedError  # pragma: no cover

    def to_string(self, value: T) -> str:
        raise NotImplementedError  # pragma: no cover


class StringConvertor(Convertor[str]):
    """One non-empty path segment."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        segment = str(value)
        # Checked in this order, so "/" reports the separator and not emptiness.
        assert "/" not in segment, "May not contain path separators"
        assert segment, "Must not be empty"
        return segment


class PathConvertor(Convertor[str]):
    """The rest of the path, slashes included, possibly empty."""

    regex = ".*"

    def convert(self, value: str) -> str:
        return str(value)

    def to_string(self, value: str) -> str:
        return str(value)


class IntegerConvertor(Convertor[int]):
    """A non-negative decimal integer."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        number = int(value)
        # The regex has no sign, so a negative number would build a path that never matches.
        assert number >= 0, "Negative integers are not supported"
        return str(number)


class FloatConvertor(Convertor[float]):
    """A non-negative decimal number without an exponent."""

    regex = r"[0-9]+(\.[0-9]+)?"

    def convert(self, value: str) -> float:
        return float(value)

    def to_string(self, value: float) -> str:
        number = float(value)
        # NaN fails every comparison and -inf is negative, so both are tested
        # before the sign to get their own messages.
        assert not math.isnan(number), "NaN values are not supported"
        assert not math.isinf(number), "Infinite values are not supported"
        assert number >= 0.0, "Negative floats are not supported"

        # Fixed-point notation with 20 decimals, because the regex rejects "1e-07".
        # Trailing zeros go, and then a bare trailing dot: 2.5 -> "2.5", 3.0 -> "3".
        digits = format(number, ".20f").rstrip("0")
        return digits[:-1] if digits.endswith(".") else digits


# Five groups of hex digits, 8-4-4-4-12, each hyphen optional.
_UUID_REGEX = "-?".join(f"[0-9a-fA-F]{{{width}}}" for width in (8, 4, 4, 4, 12))


class UUIDConvertor(Convertor[uuid.UUID]):
    """A UUID in hex digits, with or without its hyphens."""

    regex = _UUID_REGEX

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: uuid.UUID) -> str:
        return str(value)


# The routing module imports this dict once and register_url_convertor adds to it
# in place, so the dict object itself is never replaced.
CONVERTOR_TYPES: dict[str, Convertor[Any]] = {
    name: convertor_class()
    for name, convertor_class in (
        ("str", StringConvertor),
        ("path", PathConvertor),
        ("int", IntegerConvertor),
        ("float", FloatConvertor),
        ("uuid", UUIDConvertor),
    )
}


def register_url_convertor(key: str, convertor: Convertor[Any]) -> None:
    """Make `convertor` available in paths as `{name:key}`."""
    CONVERTOR_TYPES[key] = convertor
