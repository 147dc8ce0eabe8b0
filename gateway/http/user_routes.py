"""A user's routes under /v1/users/{userID} (service API key, or that user's own token)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway import params
from gateway.http.common import counters_of, limits_of, no_content, read_body, reply, route, user_endpoint
from gateway.http.paths import path_param
from gateway.observe import metrics


@user_endpoint
async def get_unread(request: Request, user: str) -> Response:
    """The total, or with filter parameters the filter total."""
    flt = params.parse_filter_query(request.query_params)
    store = counters_of(request)
    total, ver = await (store.total(user) if flt is None else store.filter_total(user, flt))
    return reply({"total": total, "ver": ver})


@user_endpoint
async def get_conversations(request: Request, user: str) -> Response:
    """One page of the user's conversations (only those with unread unless unread_only=false), in ID order."""
    page = params.parse_page_query(request.query_params, limits_of(request))
    state = await counters_of(request).snapshot(user)
    listing, last = state.page(page.unread_only, page.limit, page.after)
    return reply({"conversations": listing, "ver": state.ver, "next_cursor": params.page_cursor(last)})


@user_endpoint
async def post_clean(request: Request, user: str) -> Response:
    """Mark a conversation (or every C2C, group or any conversation) read."""
    args = params.parse_clean(await read_body(request), limits_of(request))
    cleaned, ver = await counters_of(request).clean(user, args.conversation, args.timestamp, args.sequence)
    metrics.CLEANS.inc()
    return reply({"cleaned": cleaned, "ver": ver})


@user_endpoint
async def post_recv_opt(request: Request, user: str) -> Response:
    """Set the receive option of conversations (at most Limits.conversations_per_call)."""
    args = params.parse_recv_opt(await read_body(request), limits_of(request))
    return reply({"ver": await counters_of(request).set_recv_opt(user, args.conversations, args.recv_opt)})


@user_endpoint
async def post_marks(request: Request, user: str) -> Response:
    """Set or clear mark bits on conversations (at most Limits.conversations_per_call)."""
    args = params.parse_marks(await read_body(request), limits_of(request))
    return reply({"ver": await counters_of(request).mark(user, args.conversations, args.mark, args.enable)})


@user_endpoint
async def list_conversation_groups(request: Request, user: str) -> Response:
    """The names of the user's conversation groups, sorted."""
    return reply({"groups": await counters_of(request).conversation_groups(user)})


@user_endpoint
async def create_conversation_group(request: Request, user: str) -> Response:
    """Create a conversation group holding the given conversations."""
    args = params.parse_new_conversation_group(await read_body(request), limits_of(request))
    return reply({"ver": await counters_of(request).create_conversation_group(user, args.name, args.conversations)})


@user_endpoint
async def rename_conversation_group(request: Request, user: str) -> Response:
    """Rename a conversation group."""
    new_name = params.parse_new_name(await read_body(request), limits_of(request))
    name = path_param(request, "name")
    return reply({"ver": await counters_of(request).rename_conversation_group(user, name, new_name)})


@user_endpoint
async def delete_conversation_group(request: Request, user: str) -> Response:
    """Delete a conversation group (its conversations stay)."""
    await counters_of(request).delete_conversation_group(user, path_param(request, "name"))
    return no_content()


@user_endpoint
async def edit_conversation_group(request: Request, user: str) -> Response:
    """Add conversations to and remove them from a conversation group."""
    edit = params.parse_conversation_group_edit(await read_body(request), limits_of(request))
    name = path_param(request, "name")
    return reply({"ver": await counters_of(request).edit_conversation_group(user, name, edit.add, edit.remove)})


USER = "/v1/users/{userID}"
GROUPS = f"{USER}/conversation-groups"

ROUTES = [
    route(f"{USER}/unread", {"GET": get_unread}),
    route(f"{USER}/conversations", {"GET": get_conversations}),
    route(f"{USER}/clean", {"POST": post_clean}),
    route(f"{USER}/recv-opt", {"POST": post_recv_opt}),
    route(f"{USER}/marks", {"POST": post_marks}),
    route(GROUPS, {"GET": list_conversation_groups, "POST": create_conversation_group}),
    route(f"{GROUPS}/{{name}}", {"PATCH": rename_conversation_group, "DELETE": delete_conversation_group}),
    route(f"{GROUPS}/{{name}}/conversations", {"POST": edit_conversation_group}),
]
