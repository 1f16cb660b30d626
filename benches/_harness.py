"""The parts that every benchmark entry point and scenario module shares.

Scenario modules build contenders: one column of one scenario, ready to check once and
then to sample. This module calibrates the contenders, samples them in turn round
after round, computes the per-round ratios, and parses and prints what every run
shares: the timing options, the environment and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import platform
import statistics
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from benches.driver import AppDriver, Send, check_response, paused_gc, time_calls

RUSTLETTE = "rustlette"
STARLETTE = "starlette"
BARE = "bare"
COLUMNS = (RUSTLETTE, STARLETTE, BARE)

# The headers of a plain client request, for scenarios that read none of them.
PLAIN_REQUEST_HEADERS = ((b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*"))

_Key = TypeVar("_Key", bound=Hashable)


def symbol(package: str, module: str, name: str) -> Any:
    """Import `package.module` and return its attribute `name`.

    The modules are imported by name so that one function builds the same app on
    rustlette and on starlette.
    """
    return getattr(importlib.import_module(f"{package}.{module}"), name)


def dump_json(content: Any) -> bytes:
    """Serialize as Starlette's JSONResponse does: compact, UTF-8, no NaN."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


async def send_response(send: Send, body: bytes, content_type: bytes, status: int = 200) -> None:
    """Send a complete response with the headers Starlette's Response sets, in its order."""
    headers = [(b"content-length", str(len(body)).encode("latin-1")), (b"content-type", content_type)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# Contenders: one column of one scenario, ready to check and to sample.


class Contender(Protocol):
    """One column of one scenario, checked once and then sampled."""

    def check(self) -> object:
        """Run once and return the result that the columns are compared on.

        An app contender also raises ResponseMismatch for an unexpected status or body.
        """
        ...

    def sample(self, count: int) -> int:
        """Run `count` times and return the elapsed nanoseconds."""
        ...

    def close(self) -> None: ...


class AppContender:
    """An ASGI app and its request, driven on the shared event loop."""

    def __init__(self, runner: asyncio.Runner, driver: AppDriver, expected_status: int, expected_body: bytes) -> None:
        self._runner = runner
        self._driver = driver
        self._status = expected_status
        self._body = expected_body
        runner.run(driver.startup())

    def check(self) -> object:
        response = self._runner.run(self._driver.request())
        check_response(response, status=self._status, body=self._body)
        return response

    def sample(self, count: int) -> int:
        return self._runner.run(self._driver.run_batch(count, self._status))

    def close(self) -> None:
        self._runner.run(self._driver.shutdown())


class CallContender:
    """A function called on one argument, with its result reduced to a comparable value."""

    def __init__(self, function: Callable[[Any], object], argument: object, normalize: Callable[[Any], object]) -> None:
        self._function = function
        self._argument = argument
        self._normalize = normalize

    def check(self) -> object:
        return self._normalize(self._function(self._argument))

    def sample(self, count: int) -> int:
        return time_calls(self._function, self._argument, count)

    def close(self) -> None:
        pass


# Sampling.


@dataclass(frozen=True)
class Settings:
    """How long to sample: rounds per scenario and the target length of one sample."""

    rounds: int
    sample_ns: int


FULL = Settings(rounds=30, sample_ns=50_000_000)
QUICK = Settings(rounds=5, sample_ns=10_000_000)


def calibrate(contender: Contender, target_ns: int) -> int:
    """Return how many runs make one sample last about `target_ns`.

    The growing probe runs double as the warm-up.
    """
    count = 1
    while True:
        with paused_gc():
            elapsed = contender.sample(count)
        if elapsed >= target_ns // 4 or count >= 10_000_000:
            return max(1, round(count * target_ns / max(elapsed, 1)))
        count *= 4


def sample_in_turn(contenders: Mapping[_Key, Contender], settings: Settings) -> dict[_Key, list[float]]:
    """Sample every contender once per round, in the mapping's order, and return the samples.

    Each sample is the mean time of one run in microseconds. Taking one sample of each contender in every round spreads a slow spell of the
    machine over all of them. The caller closes the contenders.
    """
    counts = {key: calibrate(contender, settings.sample_ns) for key, contender in contenders.items()}
    # Objects that live through the whole scenario go to the permanent generation,
    # so the collection before each sample stays short.
    gc.collect()
    gc.freeze()
    try:
        samples: dict[_Key, list[float]] = {key: [] for key in contenders}
        for _ in range(settings.rounds):
            for key, contender in contenders.items():
                count = counts[key]
                with paused_gc():
                    elapsed = contender.sample(count)
                samples[key].append(elapsed / count / 1000)
    finally:
        gc.unfreeze()
    return samples


def per_round_ratio(ours: Sequence[float], theirs: Sequence[float]) -> float:
    """Return the median over rounds of `ours / theirs`.

    Each quotient pairs the samples of one round, which were taken within a fraction
    of a second of each other, so a slow spell on a shared machine cancels out. A
    ratio of the two medians would compare samples from different moments.
    """
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=True))


# Options and the report around the table.


def add_timing_arguments(parser: argparse.ArgumentParser, unit: str) -> None:
    """Add the --quick, --rounds, --sample-ms and --no-pin options.

    `unit` names, in the help text, what one round covers: a scenario or a table.
    """
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"short run: {QUICK.rounds} rounds of about {QUICK.sample_ns // 1_000_000} ms samples",
    )
    parser.add_argument(
        "--rounds", type=int, help=f"rounds per {unit} (default: {FULL.rounds}, or {QUICK.rounds} with --quick)"
    )
    parser.add_argument(
        "--sample-ms",
        type=float,
        help=(
            f"target length of one sample in ms "
            f"(default: {FULL.sample_ns // 1_000_000}, or {QUICK.sample_ns // 1_000_000} with --quick)"
        ),
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")


def add_self_check_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--self-check",
        action="store_true",
        help="build the rustlette column from starlette too, so every rs/starlette ratio should be 1.00",
    )


def begin_run(
    arguments: argparse.Namespace,
    columns: Sequence[str],
    *,
    self_check: bool = False,
    extra_versions: Iterable[str] = (),
) -> Settings:
    """Validate the timing options, pin the CPU unless --no-pin, print the run's header and return its settings."""
    base = QUICK if arguments.quick else FULL
    rounds = arguments.rounds if arguments.rounds is not None else base.rounds
    sample_ns = round(arguments.sample_ms * 1_000_000) if arguments.sample_ms is not None else base.sample_ns
    if rounds < 1 or sample_ns < 1:
        raise SystemExit(f"invalid --rounds {rounds} or --sample-ms {sample_ns / 1e6:g}: both must be positive")
    settings = Settings(rounds, sample_ns)

    pinned_cpu = None if arguments.no_pin else pin_to_one_cpu()
    for line in describe_environment(pinned_cpu, extra_versions):
        print(line)
    if self_check:
        print("self-check: the rustlette column runs starlette, so its ratios measure the noise")
    print(f"{settings.rounds} rounds of ~{settings.sample_ns / 1e6:g} ms samples, sampled in turn: {', '.join(columns)}")
    return settings


def pin_to_one_cpu() -> int | None:
    """Pin this process to the last CPU it may use, and return that CPU."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def describe_environment(pinned_cpu: int | None, extra_versions: Iterable[str] = ()) -> list[str]:
    try:
        rustlette_version = importlib.import_module("rustlette").__version__
    except ImportError as error:
        rustlette_version = f"not importable ({error})"
    starlette_version = importlib.import_module("starlette").__version__
    affinity = f"pinned to CPU {pinned_cpu}" if pinned_cpu is not None else "not pinned"
    versions = "; ".join([f"rustlette {rustlette_version}", f"starlette {starlette_version}", *extra_versions])
    return [
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}",
        f"CPUs: {os.cpu_count()} ({affinity}); event loop: asyncio; {describe_load()}",
        versions,
    ]


def describe_load() -> str:
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
