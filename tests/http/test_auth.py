"""Who may call what: service keys, user tokens, dev tokens (docs/protocol.md §5)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.gateway import SERVICE, Keys, as_user, base_config, c2c, error, ok, token

from gateway.auth import Principal, Unauthenticated, mint_dev_token, verify_user_token
from gateway.config import Config

pytestmark = pytest.mark.anyio  # see test_service_routes.py


class TestServiceKey:
    @pytest.mark.parametrize(
        "headers",
        [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}],
    )
    async def test_missing_or_wrong_credentials_are_401(self, http: httpx.AsyncClient, headers: Any) -> None:
        """No key, a wrong key or another scheme is 401 with a Bearer challenge."""
        response = await http.get("/v1/groups/g1", headers=headers)
        expected = ((401, "unauthenticated"), "Bearer")
        assert expected == (error(response), response.headers["www-authenticate"])

    async def test_service_key_reaches_user_routes(self, http: httpx.AsyncClient) -> None:
        """The service key reads any user's state."""
        expected = 200
        assert expected == (await http.get("/v1/users/anyone/unread", headers=SERVICE)).status_code


class TestUserToken:
    async def test_token_reaches_own_routes(self, http: httpx.AsyncClient, users: Any) -> None:
        """An HS256 token of alice reads alice's total."""
        (alice,) = users("alice")
        expected = {"total": 0, "ver": 0}
        assert expected == await ok(http, "GET", f"/v1/users/{alice}/unread", headers=as_user(alice))

    async def test_es256_token_is_accepted(self, http: httpx.AsyncClient, users: Any, ec_keys: Keys) -> None:
        """A token signed with the private half of the configured EC public key works."""
        (alice,) = users("alice")
        headers = as_user(alice, key=ec_keys.private_pem, algorithm="ES256")
        expected = 200
        assert expected == (await http.get(f"/v1/users/{alice}/unread", headers=headers)).status_code

    @pytest.mark.parametrize(
        ("options", "reason"),
        [
            ({"ttl": -60}, "expired"),
            ({"key": "another-secret-of-at-least-32-bytes!!"}, "invalid"),
            ({"exp": None}, "exp"),
            ({"user": None}, "sub"),
            ({"user": "not a user"}, "token sub"),
            ({"user": 42}, "invalid"),
            ({"algorithm": "HS512", "key": "k" * 64}, "HS512"),
        ],
    )
    async def test_bad_token_is_401(self, http: httpx.AsyncClient, options: Any, reason: str) -> None:
        """Expired, wrongly signed, claim-less or wrongly typed tokens are 401 saying why."""
        headers = {"Authorization": f"Bearer {token(**({'user': 'alice'} | options))}"}
        response = await http.get("/v1/users/alice/unread", headers=headers)
        expected = ((401, "unauthenticated"), True)
        assert expected == (error(response), reason in response.json()["error"]["message"])

    async def test_unsigned_token_is_401(self, http: httpx.AsyncClient) -> None:
        """alg=none is refused."""
        unsigned = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, None, algorithm="none")
        response = await http.get("/v1/users/alice/unread", headers={"Authorization": f"Bearer {unsigned}"})
        expected = (401, "unauthenticated")
        assert expected == error(response)

    async def test_public_key_is_never_an_hmac_secret(self, http: httpx.AsyncClient, ec_keys: Keys) -> None:
        """An HS256 token keyed with the public PEM (algorithm confusion) is 401."""
        forged = _hmac_token(ec_keys.public_pem)
        response = await http.get("/v1/users/alice/unread", headers={"Authorization": f"Bearer {forged}"})
        expected = (401, "unauthenticated")
        assert expected == error(response)

    async def test_other_users_routes_are_403(self, http: httpx.AsyncClient, users: Any) -> None:
        """A token of alice is refused on bob's routes, reads and writes alike."""
        alice, bob = users("alice", "bob")
        headers = as_user(alice)
        read = await http.get(f"/v1/users/{bob}/unread", headers=headers)
        write = await http.post(f"/v1/users/{bob}/clean", json={"conversation": ""}, headers=headers)
        expected = ((403, "permission_denied"), (403, "permission_denied"))
        assert expected == (error(read), error(write))

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/v1/messages", {"messages": [c2c("m1", "bob", "alice")]}),
            ("POST", "/v1/messages/recall", {"messages": [{"id": "m1", "group": "g"}]}),
            ("PUT", "/v1/groups/g1", {"type": "Work"}),
            ("GET", "/v1/groups/g1", None),
            ("DELETE", "/v1/groups/g1", None),
            ("POST", "/v1/groups/g1/members", {"add": ["alice"]}),
        ],
    )
    async def test_service_routes_are_403_for_users(
        self, http: httpx.AsyncClient, method: str, path: str, body: Any
    ) -> None:
        """A valid user token never reaches the IM backend's routes."""
        response = await http.request(method, path, json=body, headers=as_user("alice"))
        expected = (403, "permission_denied")
        assert expected == error(response)


def _hmac_token(secret: str) -> str:
    """An HS256 token of alice keyed with any text, built by hand: PyJWT refuses PEM text as an HMAC key."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = part(json.dumps({"sub": "alice", "exp": int(time.time()) + 60}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{part(signature)}"


class TestVerifyUserToken:
    def test_rs256_token_with_rsa_public_key(self, redis_url: str) -> None:
        """With an RSA public key configured, an RS256 token yields its user and expiry."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        config = base_config(redis_url, jwt_secret=None, jwt_public_key=public_pem.decode())
        exp = int(time.time()) + 60
        signed = jwt.encode({"sub": "alice", "exp": exp}, private, algorithm="RS256")
        assert Principal("alice", exp) == verify_user_token(config, signed)

    def test_hs256_refused_without_a_secret(self, redis_url: str, ec_keys: Keys) -> None:
        """With only a public key configured, HS256 tokens are not accepted."""
        config = base_config(redis_url, jwt_secret=None, jwt_public_key=ec_keys.public_pem)
        with pytest.raises(Unauthenticated, match="HS256"):
            verify_user_token(config, token("alice"))

    def test_dev_token_verifies(self) -> None:
        """A minted dev token verifies as its user, expiring after the configured TTL."""
        config = Config(dev=True, dev_token_ttl=120).checked()
        principal = verify_user_token(config, mint_dev_token(config, "alice"))
        expected = ("alice", True)
        assert expected == (principal.user, 0 < principal.exp - time.time() <= 120)


class TestDevToken:
    async def test_dev_mode_mints_working_tokens(self, dev_http: httpx.AsyncClient, users: Any) -> None:
        """In dev mode POST /v1/dev/token mints a token for that user's own routes only."""
        alice, bob = users("alice", "bob")
        minted = await ok(dev_http, "POST", "/v1/dev/token", {"user": alice}, headers={})
        headers = {"Authorization": f"Bearer {minted['token']}"}
        own = await dev_http.get(f"/v1/users/{alice}/unread", headers=headers)
        other = await dev_http.get(f"/v1/users/{bob}/unread", headers=headers)
        assert ((alice, 3600), 200, (403, "permission_denied")) == (
            (minted["user"], minted["expires_in"]),
            own.status_code,
            error(other),
        )

    async def test_bad_user_is_invalid(self, dev_http: httpx.AsyncClient) -> None:
        """A malformed userID is 400."""
        response = await dev_http.post("/v1/dev/token", json={"user": "a b"})
        expected = (400, "invalid_argument")
        assert expected == error(response)

    async def test_absent_outside_dev_mode(self, http: httpx.AsyncClient) -> None:
        """Outside dev mode the route does not exist: 404."""
        response = await http.post("/v1/dev/token", json={"user": "alice"})
        expected = (404, "not_found")
        assert expected == error(response)
