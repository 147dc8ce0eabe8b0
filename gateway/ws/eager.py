"""Run a coroutine at once, in the caller's task, until it first has to wait (Python 3.12's eager tasks).

uvicorn's WebSocket send waits only while the socket is paused, so a frame is nearly always written
without suspending: stepping the send here spares the task wake-up per connection that a writer
task costs. Only a send that does wait needs the rest of it driven by a task.
"""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from typing import Any

Pending = Coroutine[Any, Any, None]


def start(coro: Pending) -> Pending | None:
    """Step `coro` now: None when it finished, else a coroutine for the rest.

    Make a task of that coroutine itself: a coroutine that merely awaits it could be cancelled
    before it starts and leave it never awaited. An exception raised before the first wait
    propagates to the caller.
    """
    try:
        waiting = coro.send(None)
    except StopIteration:
        return None
    return _rest(coro, waiting)


async def _rest(coro: Pending, waiting: Any) -> None:
    """Drive `coro` on from the future it yielded, as a task would (cancellation is passed in)."""
    try:
        while True:
            try:
                await _wait(waiting)
            except BaseException as error:  # handed to the coroutine, as a task does
                waiting = coro.throw(error)
            else:
                waiting = coro.send(None)
    except StopIteration:
        return
    finally:
        coro.close()  # a no-op once it finished; releases it if our own task was torn down


@types.coroutine
def _wait(waiting: Any) -> Generator[Any, None, None]:
    """Yield what the coroutine yielded to our task: a future to wait for, or None (a bare yield)."""
    yield waiting
