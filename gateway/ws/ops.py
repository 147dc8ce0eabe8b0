"""The request ops of `/v1/ws` (docs/protocol.md §3): each takes the request, returns the reply fields."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from redis.exceptions import RedisError

from counters import Counters, Filter, InvalidArgument, ReddotError, Unavailable, UserState
from gateway import params
from gateway.auth import PermissionDenied, verify_user_token
from gateway.config import Config
from gateway.errors import redis_unavailable


class Session(Protocol):
    """What an op may see and do of the connection it serves (gateway/ws/connection.py implements it)."""

    uid: str
    config: Config
    counters: Counters

    @property
    def state(self) -> UserState: ...

    async def caught_up(self, ver: int) -> None: ...

    def want_total(self) -> int: ...

    def want_filter(self, flt: Filter) -> int: ...

    def drop_filter(self, flt: Filter) -> None: ...

    def refreshed(self, expires: float) -> None: ...


log = logging.getLogger("reddot.ws")
# Bytes of a reply around its conversations, {"id":…,"ok":true,"conversations":[],"ver":…,"next_cursor":…},
# but for the id (measured per request): ~70, plus a cursor of at most ~92 (a 68-character ID in base64).
REPLY_ENVELOPE = 256
Reply = dict[str, Any]
Body = dict[str, Any]  # the decoded request frame; each op reads its fields with gateway.params
Op = Callable[[Session, Body], Awaitable[Reply]]


async def handle(conn: Session, text: str) -> Reply:
    """Answer one request frame; every failure becomes an error reply, never a crash."""
    try:
        request = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _error(None, InvalidArgument("the frame is not valid JSON"))
    if not isinstance(request, dict):
        return _error(None, InvalidArgument("a request must be a JSON object"))
    rid = request.get("id")
    if not isinstance(rid, int | str) or isinstance(rid, bool):
        return _error(None, InvalidArgument("id must be an integer or a string"))
    name = request.get("op")
    op = OPS.get(name) if isinstance(name, str) else None  # a list or an object is not even hashable
    if op is None:
        return _error(rid, InvalidArgument(f"unknown op {str(name)[:40]!r}"))
    try:
        return {"id": rid, "ok": True, **await op(conn, request)}
    except ReddotError as error:
        return _error(rid, error)
    except (RedisError, OSError) as error:
        if redis_unavailable(error):  # as the HTTP API answers them: 503 there, `unavailable` here
            return _error(rid, Unavailable("Redis cannot take this now; retry (writes are idempotent)"))
        log.exception("Redis rejected the WebSocket op %s", name)
        return _error(rid, ReddotError("Redis rejected the operation"))
    except Exception:  # a bug in one op: answer it, and keep the connection and its pushes
        log.exception("the WebSocket op %s failed", name)
        return _error(rid, ReddotError("the operation failed"))


def _error(rid: object, error: ReddotError) -> Reply:
    return {"id": rid, "ok": False, "error": {"code": error.code, "message": error.message}}


async def _after_write(conn: Session, ver: int, **fields: object) -> Reply:
    # Reply once this process mirrors the change, so no later push carries an older ver.
    await conn.caught_up(ver)
    return {**fields, "ver": ver}


async def get_total(conn: Session, req: Body) -> Reply:
    """The total; from now on this connection receives total pushes."""
    total = conn.want_total()
    return {"total": total, "ver": conn.state.ver}


async def get_unread_by_filter(conn: Session, req: Body) -> Reply:
    """A filter total, once."""
    state = conn.state
    return {"total": state.filter_total(params.parse_filter_request(req)), "ver": state.ver}


async def subscribe_filter(conn: Session, req: Body) -> Reply:
    """A filter total; from now on this connection receives its pushes."""
    total = conn.want_filter(params.parse_filter_request(req))
    return {"total": total, "ver": conn.state.ver}


async def unsubscribe_filter(conn: Session, req: Body) -> Reply:
    """Stop a filter's pushes (an unknown filter is not an error)."""
    conn.drop_filter(params.parse_filter_request(req))
    return {}


async def get_conversations(conn: Session, req: Body) -> Reply:
    """One page of the conversations (only those with unread unless unread_only is false), in ID order.

    A page is at most `limit` conversations and one frame of at most Limits.frame_bytes: a page that
    would not fit ends earlier, and its `next_cursor` continues from there (null: nothing follows).
    """
    state, limits = conn.state, conn.config.limits
    page = params.parse_page(req, limits)
    listing, last = state.page(page.unread_only, page.limit, page.after)
    shown = _fitting(listing, limits.frame_bytes - REPLY_ENVELOPE - len(orjson.dumps(req["id"])))
    if shown < len(listing):
        listing, last = listing[:shown], str(listing[shown - 1]["id"])
    return {"conversations": listing, "ver": state.ver, "next_cursor": params.page_cursor(last)}


def _fitting(items: list[dict[str, object]], room: int) -> int:
    """How many of the items, from the first, fit in `room` bytes as a JSON array."""
    if len(items) < 100 and len(orjson.dumps(items)) <= room:  # the usual listing: one encoding, not one each
        return len(items)
    used = 2  # the brackets
    for count, item in enumerate(items):
        used += len(orjson.dumps(item)) + 1  # the comma
        if used > room:
            return count
    return len(items)


async def clean(conn: Session, req: Body) -> Reply:
    """Mark a conversation, or every C2C, group or any conversation, read."""
    args = params.parse_clean(req, conn.config.limits)
    cleaned, ver = await conn.counters.clean(conn.uid, args.conversation, args.timestamp, args.sequence)
    return await _after_write(conn, ver, cleaned=cleaned)


async def set_recv_opt(conn: Session, req: Body) -> Reply:
    """Set the receive option of conversations (at most Limits.conversations_per_call)."""
    args = params.parse_recv_opt(req, conn.config.limits)
    return await _after_write(conn, await conn.counters.set_recv_opt(conn.uid, args.conversations, args.recv_opt))


async def mark(conn: Session, req: Body) -> Reply:
    """Set or clear mark bits on conversations (at most Limits.conversations_per_call)."""
    args = params.parse_marks(req, conn.config.limits)
    return await _after_write(conn, await conn.counters.mark(conn.uid, args.conversations, args.mark, args.enable))


async def create_conversation_group(conn: Session, req: Body) -> Reply:
    """Create a conversation group."""
    args = params.parse_new_conversation_group(req, conn.config.limits)
    ver = await conn.counters.create_conversation_group(conn.uid, args.name, args.conversations)
    return await _after_write(conn, ver)


async def delete_conversation_group(conn: Session, req: Body) -> Reply:
    """Delete a conversation group (its conversations stay)."""
    name = params.parse_group_name(req, conn.config.limits)
    return await _after_write(conn, await conn.counters.delete_conversation_group(conn.uid, name))


async def rename_conversation_group(conn: Session, req: Body) -> Reply:
    """Rename a conversation group."""
    name, new_name = params.parse_group_rename(req, conn.config.limits)
    return await _after_write(conn, await conn.counters.rename_conversation_group(conn.uid, name, new_name))


async def add_to_conversation_group(conn: Session, req: Body) -> Reply:
    """Add conversations to a conversation group."""
    return await _edit_group(conn, req, adding=True)


async def remove_from_conversation_group(conn: Session, req: Body) -> Reply:
    """Remove conversations from a conversation group."""
    return await _edit_group(conn, req, adding=False)


async def _edit_group(conn: Session, req: Body, adding: bool) -> Reply:
    name, convs = params.parse_group_conversations(req, conn.config.limits)
    edit = {"add": convs} if adding else {"remove": convs}
    return await _after_write(conn, await conn.counters.edit_conversation_group(conn.uid, name, **edit))


async def get_conversation_groups(conn: Session, req: Body) -> Reply:
    """The names of the user's conversation groups, sorted."""
    return {"groups": sorted(conn.state.groups)}


async def refresh(conn: Session, req: Body) -> Reply:
    """Replace the connection's token by a newer one of the same user."""
    token = params.parse_token(req, conn.config.limits)
    principal = verify_user_token(conn.config, token)
    if principal.user != conn.uid:
        raise PermissionDenied("the new token is for another user")
    conn.refreshed(principal.exp)
    return {}


async def ping(conn: Session, req: Body) -> Reply:
    """Nothing: a liveness check."""
    return {}


OPS: dict[str, Op] = {
    fn.__name__: fn
    for fn in (
        get_total,
        get_unread_by_filter,
        subscribe_filter,
        unsubscribe_filter,
        get_conversations,
        clean,
        set_recv_opt,
        mark,
        create_conversation_group,
        delete_conversation_group,
        rename_conversation_group,
        add_to_conversation_group,
        remove_from_conversation_group,
        get_conversation_groups,
        refresh,
        ping,
    )
}
