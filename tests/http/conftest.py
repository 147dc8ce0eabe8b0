"""Fixtures of the HTTP tests: real gateways on free ports, the session Valkey behind them."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from support.gateway import Keys, LiveServer, base_config

from gateway.config import Config


@pytest.fixture(scope="session")
def ec_keys() -> Keys:
    """A P-256 key pair for ES256 user tokens."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Keys(private_pem.decode(), public_pem.decode())


@pytest.fixture(scope="session")
def gateway(redis_url: str, ec_keys: Keys) -> Iterator[LiveServer]:
    """The main gateway: production mode, an HS256 secret and an ES256 public key."""
    with LiveServer(base_config(redis_url, jwt_public_key=ec_keys.public_pem)) as server:
        yield server


@pytest.fixture(scope="session")
def dev_gateway(redis_url: str) -> Iterator[LiveServer]:
    """A gateway in dev mode (generated keys, POST /v1/dev/token)."""
    with LiveServer(Config(redis_url=redis_url, dev=True).checked()) as server:
        yield server


@pytest.fixture(scope="session")
def closed_port() -> Iterator[int]:
    """A port where nothing listens: bound but never listening, so no one else takes it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="session")
def down_gateway(closed_port: int) -> Iterator[LiveServer]:
    """A gateway whose Redis is unreachable."""
    with LiveServer(base_config(f"redis://127.0.0.1:{closed_port}/0")) as server:
        yield server


@pytest.fixture
async def http(gateway: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the main gateway (no credentials by default)."""
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        yield client


@pytest.fixture
async def dev_http(dev_gateway: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the dev-mode gateway."""
    async with httpx.AsyncClient(base_url=dev_gateway.url) as client:
        yield client


@pytest.fixture
async def down_http(down_gateway: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway whose Redis is down."""
    async with httpx.AsyncClient(base_url=down_gateway.url) as client:
        yield client


@pytest.fixture
def users(new_id: Callable[[str], str]) -> Callable[..., list[str]]:
    """Factory of fresh userIDs: users('alice', 'bob')."""
    return lambda *names: [new_id(name) for name in names]
