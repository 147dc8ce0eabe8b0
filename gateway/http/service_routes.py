"""The IM backend's routes (service API key): messages, recalls, group chats."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway import params
from gateway.http.common import counters_of, limits_of, no_content, read_body, reply, route, service_endpoint
from gateway.http.paths import path_param
from gateway.observe import metrics


@service_endpoint
async def post_messages(request: Request) -> Response:
    """Count a batch of messages; per message, how many recipients' unread grew."""
    messages = params.parse_messages(await read_body(request), limits_of(request))
    counted = await counters_of(request).ingest(messages)
    metrics.MESSAGES_INGESTED.inc(len(messages))
    metrics.RECIPIENT_UPDATES.inc(sum(counted))
    return reply({"results": [{"id": m.id, "counted": n} for m, n in zip(messages, counted, strict=True)]})


@service_endpoint
async def post_recalls(request: Request) -> Response:
    """Recall a batch of messages; per recall, how many recipients still had it unread."""
    recalls = params.parse_recalls(await read_body(request), limits_of(request))
    recalled = await counters_of(request).recall(recalls)
    metrics.RECALLS.inc(len(recalls))
    return reply({"results": [{"id": r.id, "recalled": n} for r, n in zip(recalls, recalled, strict=True)]})


@service_endpoint
async def put_group(request: Request) -> Response:
    """Create a group chat, or confirm it (a group's type never changes)."""
    kind = params.parse_group_type(await read_body(request), limits_of(request))
    group = await counters_of(request).put_group(path_param(request, "groupID"), kind)
    return reply(group.as_dict())


@service_endpoint
async def get_group(request: Request) -> Response:
    """A group chat's type and member count."""
    return reply((await counters_of(request).get_group(path_param(request, "groupID"))).as_dict())


@service_endpoint
async def delete_group(request: Request) -> Response:
    """Forget a group chat (users keep the unread they have)."""
    await counters_of(request).delete_group(path_param(request, "groupID"))
    return no_content()


@service_endpoint
async def post_members(request: Request) -> Response:
    """Add and remove members of a group chat."""
    edit = params.parse_member_edit(await read_body(request), limits_of(request))
    group = await counters_of(request).edit_members(path_param(request, "groupID"), edit.add, edit.remove)
    return reply(group.as_dict())


ROUTES = [
    route("/v1/messages", {"POST": post_messages}),
    route("/v1/messages/recall", {"POST": post_recalls}),
    route("/v1/groups/{groupID}", {"PUT": put_group, "GET": get_group, "DELETE": delete_group}),
    route("/v1/groups/{groupID}/members", {"POST": post_members}),
]
