"""The OpenAPI 3.1 document served at GET /openapi.json, generated for the app that serves it.

Request schemas are the structs that validate requests (gateway/params/bodies.py), reply schemas the
structs of gateway/http/replies.py, both with the sizes of the running Limits. The document lists
exactly the routes and methods the app has (the dev routes only in dev mode).
"""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.config import Config
from gateway.errors import STATUS
from gateway.http import replies as r
from gateway.http.common import config_of, reply, route
from gateway.params import bodies as b
from gateway.params.decoding import Reader, Schema, reader

Security = list[dict[str, list[str]]]
SERVICE: Security = [{"serviceKey": []}]
USER: Security = [{"serviceKey": []}, {"userToken": []}]
PUBLIC: Security = []


class Spec:
    """The operations of every route, for one app's config."""

    def __init__(self, config: Config) -> None:
        self.reader: Reader = reader(config.limits)
        self.types: list[type] = []  # every body and reply type used: the components
        user_id = self.param("userID", "path", b.UserID)
        self.user = (user_id,)
        self.group = (self.param("groupID", "path", b.GroupID),)
        self.named = (user_id, self.param("name", "path", b.Name, "percent-encoded UTF-8"))
        self.filter = tuple(self.query(b.Filter))
        self.listing = tuple(self.query(b.ListRequest, default=True))
        # Dev mode serves the dashboard's figures without a key (docs/dashboard.md).
        self.stats_security = PUBLIC if config.dev else SERVICE

    def param(self, name: str, where: str, kind: Any, description: str = "", **extra: Any) -> Schema:
        """A path or query parameter of a type of bodies.py."""
        schema = {**self.reader.schema(kind), **extra}
        return {"name": name, "in": where, "required": where == "path", "schema": schema, "description": description}

    def query(self, struct: type[msgspec.Struct], **extra: Any) -> list[Schema]:
        """Query parameters: the fields of a struct (whose null means absent)."""
        return [
            self.param(f.encode_name, "query", next(t for t in get_args(f.type) if t is not type(None)), **extra)
            for f in msgspec.structs.fields(struct)
        ]

    def op(
        self,
        summary: str,
        security: Security,
        body: type | None = None,
        result: type | None = None,
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
            success["content"] = {"application/json": {"schema": self.ref(result)}}
        failures = {str(c): {"$ref": f"#/components/responses/{c}"} for c in sorted(codes)}
        operation: Schema = {
            "summary": summary,
            "security": security,
            "parameters": list(parameters),
            "responses": {str(status): success, **failures},
        }
        if body:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": self.ref(body)}}}
        return operation

    def ref(self, kind: type) -> Schema:
        """A reference to the component of a struct."""
        self.types.append(kind)
        return {"$ref": f"#/components/schemas/{kind.__name__}"}

    def paths(self) -> dict[str, dict[str, Schema]]:
        """Every operation the gateway can have, by path and method."""
        op, user, named = self.op, "/v1/users/{userID}", self.named
        groups = f"{user}/conversation-groups"
        return {
            "/v1/messages": {"post": op("Count messages", SERVICE, b.Messages, r.IngestResults, errors=(404,))},
            "/v1/messages/recall": {"post": op("Recall messages", SERVICE, b.Recalls, r.RecallResults, errors=(404,))},
            "/v1/groups/{groupID}": {
                "put": op("Create or confirm a group chat", SERVICE, b.GroupChat, r.Group, self.group, (409,)),
                "get": op("A group chat", SERVICE, None, r.Group, self.group, (404,)),
                "delete": op("Forget a group chat", SERVICE, None, None, self.group, (404,), 204),
            },
            "/v1/groups/{groupID}/members": {
                "post": op("Add and remove members", SERVICE, b.MemberEdit, r.Group, self.group, (404,)),
            },
            f"{user}/unread": {"get": op("Total or filter total", USER, None, r.Total, (*self.user, *self.filter))},
            f"{user}/conversations": {
                "get": op("The user's conversations", USER, None, r.Conversations, (*self.user, *self.listing))
            },
            f"{user}/clean": {"post": op("Mark read", USER, b.Clean, r.Cleaned, self.user)},
            f"{user}/recv-opt": {"post": op("Set receive options", USER, b.RecvOpt, r.Ver, self.user)},
            f"{user}/marks": {"post": op("Set or clear marks", USER, b.Marks, r.Ver, self.user)},
            groups: {
                "get": op("Conversation-group names", USER, None, r.ConversationGroups, self.user),
                "post": op("Create a conversation group", USER, b.NewConversationGroup, r.Ver, self.user, (409, 429)),
            },
            f"{groups}/{{name}}": {
                "patch": op("Rename a conversation group", USER, b.Rename, r.Ver, named, (404, 409)),
                "delete": op("Delete a conversation group", USER, None, None, named, (404,), 204),
            },
            f"{groups}/{{name}}/conversations": {
                "post": op("Edit a conversation group", USER, b.ConversationGroupEdit, r.Ver, named, (404, 429)),
            },
            "/v1/dev/token": {"post": op("Mint a user token (dev mode)", PUBLIC, b.DevTokenRequest, r.DevToken)},
            "/v1/dev/service-key": {"get": op("The service key, for the demo (dev mode)", PUBLIC, None, r.ServiceKey)},
            "/v1/dashboard/stats": {"get": op("Figures of every gateway process and of Redis", self.stats_security,
                                              None, r.DashboardStats)},
            "/dashboard": {"get": _page("Ops dashboard (its JSON needs the service key outside dev mode)")},
            "/demo": {"get": _page("Demo app (dev mode)")},
            "/": {"get": op("An index of this gateway's routes", PUBLIC, None, r.Index)},
            "/healthz": {"get": op("Process alive", PUBLIC, None, r.Status)},
            "/readyz": {"get": op("Redis reachable and functions loaded", PUBLIC, None, r.Status, errors=(503,))},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": PUBLIC, "responses": {"200": {
                "description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": PUBLIC,
                                      "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
        }  # fmt: skip


def _page(summary: str) -> Schema:
    page = {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    return {"summary": summary, "security": PUBLIC, "responses": {"200": page}}


def document(app: Starlette, config: Config) -> Schema:
    """The OpenAPI document of this app: the operations of the routes it has."""
    spec = Spec(config)
    every = spec.paths()
    paths: dict[str, dict[str, Schema]] = {}
    for item in app.routes:
        if isinstance(item, Route) and item.path in every:
            methods = {m.lower() for m in item.methods or ()}
            paths[item.path] = {m: o for m, o in every[item.path].items() if m in methods}
    spec.ref(r.Error)
    _, schemas = spec.reader.schemas(spec.types)
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "reddot",
            "version": "1",
            "description": 'Real-time unread counts. Errors are {"error": {"code", "message"}}. See docs/http.md.',
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
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
    """The OpenAPI document (built once per app)."""
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = document(request.app, config_of(request))
    return reply(state.openapi)


async def index(request: Request) -> Response:
    """`GET /`: every operation this gateway serves, with its summary, and where to read more."""
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = document(request.app, config_of(request))
    routes = [
        {"method": method.upper(), "path": path, "summary": operation.get("summary", "")}
        for path, operations in state.openapi["paths"].items()
        for method, operation in operations.items()
    ]
    return reply({"service": "reddot", "openapi": "/openapi.json", "docs": "docs/http.md", "routes": routes})


ROUTES = [route("/", {"GET": index}), route("/openapi.json", {"GET": openapi_json})]
