"""The OpenAPI 3.1 document of every HTTP route, built by hand, served at GET /openapi.json."""

from __future__ import annotations

from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import STATUS
from gateway.http.common import reply, route

Schema = dict[str, Any]
Security = list[dict[str, list[str]]]
SERVICE: Security = [{"serviceKey": []}]
USER: Security = [{"serviceKey": []}, {"userToken": []}]
PUBLIC: Security = []


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    """An object schema (unknown fields are ignored by the gateway, so they are allowed)."""
    return {"type": "object", "required": list(required), "properties": properties}


def array(items: Schema, max_items: int | None = None, min_items: int = 0) -> Schema:
    """An array schema."""
    schema: Schema = {"type": "array", "items": items, "minItems": min_items}
    return schema if max_items is None else {**schema, "maxItems": max_items}


ID = {"type": "string", "pattern": "^[A-Za-z0-9_.@#-]{1,64}$"}
CONV = {"type": "string", "pattern": "^(c2c|group)_[A-Za-z0-9_.@#-]{1,64}$"}
NAME = {"type": "string", "minLength": 1, "description": "1-32 bytes of UTF-8, no control characters"}
INT = {"type": "integer", "minimum": 0}
POSITION = {"type": "integer", "minimum": 0, "maximum": 2**53 - 1}
MARK = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1, "description": "bits 0-3 and 32-63"}
BOOL = {"type": "boolean"}
OPT_BOOL = {"type": ["boolean", "null"]}
USERS = array(ID, 10_000)
VER = obj(("ver",), ver=INT)

SCHEMAS: dict[str, Schema] = {
    "Error": obj(("error",), error=obj(("code", "message"), code={"enum": list(STATUS)}, message={"type": "string"})),
    "C2CMessage": obj(
        ("id", "from", "to", "timestamp"),
        id={"type": "string", "minLength": 1, "maxLength": 128}, to=ID, timestamp=POSITION, excluded=BOOL,
        **{"from": ID},
    ),
    "GroupMessage": obj(
        ("id", "from", "group", "seq"),
        id={"type": "string", "minLength": 1, "maxLength": 128}, group=ID, seq={**POSITION, "minimum": 1},
        timestamp=POSITION, excluded=BOOL, at=USERS, at_all=BOOL, recipients={**USERS, "type": ["array", "null"]},
        **{"from": ID},
    ),
    "Recall": {"oneOf": [obj(("id", "group"), id={"type": "string"}, group=ID),
                         obj(("id", "from", "to"), id={"type": "string"}, to=ID, **{"from": ID})]},
    "Messages": obj(("messages",), messages=array({"oneOf": [ref("C2CMessage"), ref("GroupMessage")]}, 1000, 1)),
    "Recalls": obj(("messages",), messages=array(ref("Recall"), 1000, 1)),
    "IngestResults": obj(("results",), results=array(obj(("id", "counted"), id={"type": "string"}, counted=INT))),
    "RecallResults": obj(("results",), results=array(obj(("id", "recalled"), id={"type": "string"}, recalled=INT))),
    "GroupType": obj(("type",), type={"enum": ["Work", "Public", "Community", "Meeting", "AVChatRoom"]}),
    "Group": obj(("id", "type", "members"), id=ID, type={"type": "string"}, members=INT),
    "MemberEdit": obj(add=USERS, remove=USERS),
    "Total": obj(("total", "ver"), total=INT, ver=INT),
    "Conversation": obj(
        ("id", "type", "unread", "mentions", "recv_opt", "marks", "groups", "read_timestamp", "read_sequence"),
        id=CONV, type={"enum": [1, 2]}, unread=INT, mentions=INT, recv_opt={"enum": [0, 1, 2, 3, 4]}, marks=MARK,
        groups=array(NAME), read_timestamp=POSITION, read_sequence=POSITION,
    ),
    "Conversations": obj(("conversations", "ver"), conversations=array(ref("Conversation")), ver=INT),
    "Clean": obj(
        ("conversation",),
        conversation={"type": "string", "description": "a conversation ID, or c2c / group / \"\" for all of a kind"},
        timestamp=POSITION, sequence=POSITION,
    ),
    "Cleaned": obj(("cleaned", "ver"), cleaned=INT, ver=INT),
    "RecvOpt": obj(("conversations", "recv_opt"), conversations=array(CONV, 100), recv_opt={"enum": [0, 1, 2, 3, 4]}),
    "Marks": obj(("conversations", "mark", "enable"), conversations=array(CONV, 100), mark=MARK, enable=BOOL),
    "Ver": VER,
    "ConversationGroups": obj(("groups",), groups=array(NAME, 20)),
    "NewConversationGroup": obj(("name",), name=NAME, conversations=array(CONV, 1000)),
    "Rename": obj(("new_name",), new_name=NAME),
    "ConversationGroupEdit": obj(add=array(CONV, 1000), remove=array(CONV, 1000)),
    "DevTokenRequest": obj(("user",), user=ID),
    "DevToken": obj(("token", "user", "expires_in"), token={"type": "string"}, user=ID, expires_in=INT),
    "Status": obj(("status",), status={"type": "string"}),
    "ServiceKey": obj(("key",), key={"type": "string"}),
    "DashboardStats": obj(
        ("at", "totals", "processes", "redis"), at={"type": "number"}, totals={"type": "object"},
        processes=array({"type": "object"}), redis={"type": "object"},
    ),
}  # fmt: skip


def _param(name: str, where: str, schema: Schema, description: str = "") -> Schema:
    return {"name": name, "in": where, "required": where == "path", "schema": schema, "description": description}


USER_ID = _param("userID", "path", ID)
GROUP_ID = _param("groupID", "path", ID)
GROUP_NAME = _param("name", "path", NAME, "percent-encoded UTF-8")
FILTER = [
    _param("type", "query", {"enum": [0, 1, 2]}, "0 any, 1 C2C, 2 group"),
    _param("group", "query", NAME, "only conversations in this conversation group"),
    _param("mark", "query", MARK, "only conversations with every one of these mark bits"),
    _param("has_mention", "query", BOOL, "true: only conversations that mention the user"),
]
UNREAD_ONLY = _param("unread_only", "query", {**BOOL, "default": True})


def op(
    summary: str,
    security: Security,
    body: str | None = None,
    result: str | None = None,
    parameters: tuple[Schema, ...] = (),
    errors: tuple[int, ...] = (),
    status: int = 200,
) -> Schema:
    """One operation: its parameters, body, success reply, and the errors it can answer."""
    codes = set(errors)
    if security:
        codes |= {401, 403}
    if body or parameters:
        codes.add(400)
    if body:
        codes.add(413)
    if security or body:
        codes |= {500, 503}
    success: Schema = {"description": "OK" if status == 200 else "No Content"}
    if result:
        success["content"] = {"application/json": {"schema": ref(result)}}
    operation: Schema = {
        "summary": summary,
        "security": security,
        "parameters": list(parameters),
        "responses": {str(status): success, **{str(c): {"$ref": f"#/components/responses/{c}"} for c in sorted(codes)}},
    }
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    return operation


def _paths() -> dict[str, dict[str, Schema]]:
    user = "/v1/users/{userID}"
    groups = f"{user}/conversation-groups"
    u = (USER_ID,)
    return {
        "/v1/messages": {"post": op("Count messages", SERVICE, "Messages", "IngestResults", errors=(404,))},
        "/v1/messages/recall": {"post": op("Recall messages", SERVICE, "Recalls", "RecallResults", errors=(404,))},
        "/v1/groups/{groupID}": {
            "put": op("Create or confirm a group chat", SERVICE, "GroupType", "Group", (GROUP_ID,), (409,)),
            "get": op("A group chat", SERVICE, None, "Group", (GROUP_ID,), (400, 404)),
            "delete": op("Forget a group chat", SERVICE, None, None, (GROUP_ID,), (400, 404), 204),
        },
        "/v1/groups/{groupID}/members": {
            "post": op("Add and remove members", SERVICE, "MemberEdit", "Group", (GROUP_ID,), (404,)),
        },
        f"{user}/unread": {"get": op("Total or filter total", USER, None, "Total", (USER_ID, *FILTER), (400,))},
        f"{user}/conversations": {
            "get": op("The user's conversations", USER, None, "Conversations", (USER_ID, UNREAD_ONLY), (400,))
        },
        f"{user}/clean": {"post": op("Mark read", USER, "Clean", "Cleaned", u)},
        f"{user}/recv-opt": {"post": op("Set receive options", USER, "RecvOpt", "Ver", u)},
        f"{user}/marks": {"post": op("Set or clear marks", USER, "Marks", "Ver", u)},
        groups: {
            "get": op("Conversation-group names", USER, None, "ConversationGroups", u, (400,)),
            "post": op("Create a conversation group", USER, "NewConversationGroup", "Ver", u, (409, 429)),
        },
        f"{groups}/{{name}}": {
            "patch": op("Rename a conversation group", USER, "Rename", "Ver", (USER_ID, GROUP_NAME), (404, 409)),
            "delete": op("Delete a conversation group", USER, None, None, (USER_ID, GROUP_NAME), (400, 404), 204),
        },
        f"{groups}/{{name}}/conversations": {
            "post": op("Edit a conversation group", USER, "ConversationGroupEdit", "Ver", (USER_ID, GROUP_NAME),
                       (404, 429)),
        },
        "/v1/dev/token": {"post": op("Mint a user token (dev mode only; 404 otherwise)", PUBLIC, "DevTokenRequest",
                                     "DevToken", errors=(404,))},
        "/v1/dev/service-key": {"get": op("The service key, for the demo (dev mode only; 404 otherwise)", PUBLIC,
                                          None, "ServiceKey", errors=(404,))},
        "/v1/dashboard/stats": {"get": op("Figures of every gateway process and of Redis (free in dev mode)",
                                          SERVICE, None, "DashboardStats")},
        "/dashboard": {"get": _html("Ops dashboard (its JSON needs the service key outside dev mode)")},
        "/demo": {"get": _html("Demo app (dev mode only; 404 otherwise)")},
        "/healthz": {"get": op("Process alive", PUBLIC, None, "Status")},
        "/readyz": {"get": op("Redis reachable and functions loaded", PUBLIC, None, "Status", errors=(503,))},
        "/metrics": {"get": {"summary": "Prometheus metrics", "security": PUBLIC, "responses": {"200": {
            "description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {"summary": "This document", "security": PUBLIC,
                                  "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
    }  # fmt: skip


def _html(summary: str) -> Schema:
    page = {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    return {"summary": summary, "security": PUBLIC, "responses": {"200": page}}


@cache
def document() -> Schema:
    """The whole OpenAPI document."""
    error = {"content": {"application/json": {"schema": ref("Error")}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "reddot",
            "version": "1",
            "description": 'Real-time unread counts. Errors are {"error": {"code", "message"}}. See docs/http.md.',
        },
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "responses": {str(s): {**error, "description": c} for c, s in STATUS.items()},
            "securitySchemes": {
                "serviceKey": {"type": "http", "scheme": "bearer", "description": "a service API key"},
                "userToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "a user token (sub = userID, exp required); reaches only that user's routes",
                },
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    """The OpenAPI document."""
    return reply(document())


ROUTES = [route("/openapi.json", {"GET": openapi_json})]
