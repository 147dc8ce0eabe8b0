"""What the HTTP tests share: a live server, credentials, and request helpers."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from gateway.app import create_app
from gateway.cli import AnnouncingServer, server_config
from gateway.config import Config

SERVICE_KEY = "service-key-for-tests-0123456789"
JWT_SECRET = "jwt-secret-for-tests-0123456789-abcdef"
MAX_BODY = 256 * 1024  # small enough to pass quickly, large enough for a batch of 1000 messages
START_DEADLINE = 15.0
SERVICE = {"Authorization": f"Bearer {SERVICE_KEY}"}


@dataclass(frozen=True)
class Keys:
    """A PEM key pair."""

    private_pem: str
    public_pem: str


class LiveServer:
    """One app served by a real uvicorn on a free port (or `port`), in a thread with its own event loop."""

    def __init__(self, config: Config, port: int = 0) -> None:
        self.config = config
        self._up = threading.Event()
        uvicorn_config = server_config(create_app(config), config, port=port, log_config=None, access_log=False)
        self.server = AnnouncingServer(uvicorn_config, lambda _: self._up.set())
        self._thread = threading.Thread(target=self._run, name="uvicorn", daemon=True)
        self.url = ""
        self.ws_url = ""

    def _run(self) -> None:
        try:
            self.server.run()
        finally:
            self._up.set()  # wake the waiter even when startup failed

    def __enter__(self) -> LiveServer:
        self._thread.start()
        if not self._up.wait(START_DEADLINE) or not self.server.started:
            raise RuntimeError("the gateway did not start")
        self.url = self.server.base_url()
        self.ws_url = "ws" + self.url.removeprefix("http")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(START_DEADLINE)


def base_config(redis_url: str, **changes: Any) -> Config:
    """A production-mode config with the test keys."""
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "api_keys": (SERVICE_KEY,),
        "jwt_secret": JWT_SECRET,
        "max_body_bytes": MAX_BODY,
    }
    return Config(**(values | changes)).checked()


def token(user: Any, *, ttl: int = 300, key: str = JWT_SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    """A user token (`sub` = user); claims set to None, the user included, are left out."""
    body = {"sub": user, "exp": int(time.time()) + ttl, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm)


def as_user(user: str, **options: Any) -> dict[str, str]:
    """Headers of a request made with a token of `user`."""
    return {"Authorization": f"Bearer {token(user, **options)}"}


def c2c(mid: str, sender: str, to: str, timestamp: int = 100, **extra: Any) -> dict[str, Any]:
    """A C2C message as the IM backend posts it."""
    return {"id": mid, "from": sender, "to": to, "timestamp": timestamp, **extra}


def grp(mid: str, sender: str, group: str, seq: int, **extra: Any) -> dict[str, Any]:
    """A group message as the IM backend posts it."""
    return {"id": mid, "from": sender, "group": group, "seq": seq, **extra}


async def ok(client: httpx.AsyncClient, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
    """A setup request that must succeed (service key unless headers are given); its JSON reply."""
    kwargs.setdefault("headers", SERVICE)
    response = await client.request(method, url, json=body, **kwargs)
    if response.status_code >= 300:
        raise AssertionError(f"{method} {url}: {response.status_code} {response.text}")
    return response.json() if response.content else None


async def ingest(client: httpx.AsyncClient, *messages: dict[str, Any]) -> list[int]:
    """Post messages; the `counted` of each."""
    reply = await ok(client, "POST", "/v1/messages", {"messages": list(messages)})
    return [result["counted"] for result in reply["results"]]


async def make_group(client: httpx.AsyncClient, gid: str, members: list[str], kind: str = "Work") -> None:
    """Create a group chat with members."""
    await ok(client, "PUT", f"/v1/groups/{gid}", {"type": kind})
    await ok(client, "POST", f"/v1/groups/{gid}/members", {"add": members})


async def unread(client: httpx.AsyncClient, user: str, **query: Any) -> int:
    """The user's total (or filter total)."""
    reply = await ok(client, "GET", f"/v1/users/{user}/unread", params=query)
    return int(reply["total"])


def error(response: httpx.Response) -> tuple[int, str]:
    """(status, error code) of an error reply."""
    return response.status_code, response.json()["error"]["code"]
