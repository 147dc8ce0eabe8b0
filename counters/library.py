"""The Lua function library: built from counters/lua/*.lua, loaded once, called with FCALL."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import ResponseError

from . import batch
from .errors import NewerLibrary

NAME = "reddot"
VERSION = 2
"""The library's version (1: the libraries from before versions; 2: bulk clean in slices from the
gateway, no clean_all). A process never replaces a newer library on the server: an older gateway
left in a fleet would put back functions that a newer data model may not be safe with."""
Client = Redis | RedisCluster


def source() -> str:
    """The library source: the shared helpers, then one file per function."""
    files = sorted(
        (f for f in resources.files("counters.lua").iterdir() if f.name.endswith(".lua")),
        key=lambda f: (f.name != "_lib.lua", f.name),
    )
    return f"#!lua name={NAME}\nlocal LIBRARY_VERSION = {VERSION}\n" + "\n".join(f.read_text() for f in files)


def is_missing(error: BaseException) -> bool:
    """Whether an error means the library is not loaded (FUNCTION FLUSH, a fresh server)."""
    return isinstance(error, ResponseError) and "function not found" in str(error).lower()


class Library:
    """Loads the function library and calls its functions, reloading it when it vanished."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._source = source()

    async def load(self) -> None:
        """FUNCTION LOAD REPLACE on the server (every primary of a cluster), unless it holds a newer library."""
        loaded = await self.server_version()
        if loaded > VERSION:
            raise NewerLibrary(
                f"the server holds reddot library version {loaded}, newer than this process's {VERSION}: "
                "upgrade this gateway (it will not replace the newer functions)"
            )
        await self.client.function_load(self._source, replace=True)

    async def server_version(self) -> int:
        """The version of the library on the server: 0 without one, 1 for one from before versions."""
        try:
            return int(await self.client.fcall("reddot_version", 0))
        except ResponseError as error:
            if not is_missing(error):
                raise
        return 1 if await self.loaded() else 0

    async def loaded(self) -> bool:
        """Whether the server holds this library (readiness)."""
        libraries: Any = await self.client.function_list(library=NAME)
        if isinstance(libraries, dict):  # a cluster answers per primary: {node: [libraries]}, every one must have it
            return bool(libraries) and all(libraries.values())
        return bool(libraries)

    async def call(self, name: str, keys: Sequence[str], args: Sequence[object]) -> Any:
        """FCALL one function; if the library vanished, load it and call again."""
        try:
            return await self.client.fcall(name, len(keys), *keys, *args)
        except ResponseError as error:
            if not is_missing(error):
                raise
        await self.load()
        return await self.client.fcall(name, len(keys), *keys, *args)

    async def call_many(self, calls: Sequence[tuple[str, Sequence[str], Sequence[object]]]) -> list[Any]:
        """FCALL many functions in pipelines; retry the calls that found no library.

        Every reddot function is idempotent for the calls batched here (ingest, recall, clean),
        so a call repeated after a reload cannot count twice.
        """
        results: list[Any] = [None] * len(calls)
        pending = list(range(len(calls)))
        for attempt in range(2):
            replies = await self._fcall_all([calls[i] for i in pending])
            missing = []
            for i, reply in zip(pending, replies, strict=True):
                if isinstance(reply, Exception):
                    if attempt == 0 and is_missing(reply):
                        missing.append(i)
                        continue
                    raise reply
                results[i] = reply
            if not missing:
                break
            await self.load()
            pending = missing
        return results

    async def _fcall_all(self, calls: Sequence[tuple[str, Sequence[str], Sequence[object]]]) -> list[Any]:
        """One FCALL per call in one round trip (a pipeline per node on a cluster); errors returned."""
        if isinstance(self.client, Redis):
            return await batch.execute(
                self.client, [("FCALL", name, len(keys), *keys, *args) for name, keys, args in calls]
            )
        pipe = self.client.pipeline(transaction=False)
        for name, keys, args in calls:
            pipe.fcall(name, len(keys), *keys, *args)
        return await pipe.execute(raise_on_error=False)
