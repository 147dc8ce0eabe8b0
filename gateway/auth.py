"""Who is calling: service API keys and user tokens (JWT), and which routes each may reach."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from starlette.requests import HTTPConnection

from counters import InvalidArgument, validate
from gateway.config import Config
from gateway.errors import PermissionDenied, Unauthenticated

__all__ = [
    "SERVICE",
    "Caller",
    "PermissionDenied",
    "Principal",
    "Service",
    "Unauthenticated",
    "authenticate",
    "bearer",
    "is_service_key",
    "mint_dev_token",
    "require_service",
    "require_user",
    "verify_user_token",
]

HMAC_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    """A user with a verified token, which expires at `exp` (Unix seconds)."""

    user: str
    exp: int


@dataclass(frozen=True, slots=True)
class Service:
    """A caller holding a service API key (the IM backend)."""


SERVICE = Service()
Caller = Principal | Service

LATEST_EXPIRY = 253_402_300_799  # 9999-12-31T23:59:59Z


def verify_user_token(config: Config, token: str) -> Principal:
    """The user a JWT stands for; Unauthenticated if it is malformed, unsigned by our key, or expired."""
    try:
        algorithm = str(jwt.get_unverified_header(token).get("alg"))
    except jwt.InvalidTokenError:
        raise Unauthenticated("the credential is neither a service key nor a JWT") from None
    key = _verification_key(config, algorithm)
    try:
        # `iat` is not checked: an issuer whose clock runs seconds ahead would get 4001 ("do not
        # retry") for a good token; `exp` is what bounds a token, and `nbf` is still honoured.
        claims = jwt.decode(
            token, key, algorithms=[algorithm], options={"require": ["exp", "sub"], "verify_iat": False}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the user token has expired") from None
    except jwt.InvalidTokenError as error:
        raise Unauthenticated(f"invalid user token: {error}") from None
    try:
        user = validate.user_id(claims["sub"], "token sub")
    except InvalidArgument as error:
        raise Unauthenticated(error.message) from None
    # Past year 9999 a number of seconds no longer fits the event loop's clock (float): such a token
    # simply outlives the process.
    return Principal(user=user, exp=min(int(claims["exp"]), LATEST_EXPIRY))


def _verification_key(config: Config, algorithm: str) -> Any:
    # The key is chosen by our configuration, never by the token: a token cannot make us verify an
    # HMAC signature with the public key as the secret (algorithm confusion).
    if algorithm == HMAC_ALGORITHM and config.jwt_secret:
        return config.jwt_secret
    if config.jwt_public_key:
        key = _public_key(config.jwt_public_key)
        if (algorithm, isinstance(key, rsa.RSAPublicKey)) in (("RS256", True), ("ES256", False)):
            return key
    raise Unauthenticated(f"user tokens signed with {algorithm} are not accepted here")


@lru_cache(maxsize=4)
def _public_key(pem: str) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    key = load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey), "checked by Config"
    return key


def mint_dev_token(config: Config, user: str, ttl: int | None = None) -> str:
    """A short-lived HS256 user token (dev mode, where a secret is always configured)."""
    assert config.jwt_secret, "dev mode generates a JWT secret"
    now = int(time.time())
    claims = {"sub": validate.user_id(user, "user"), "iat": now, "exp": now + (ttl or config.dev_token_ttl)}
    return jwt.encode(claims, config.jwt_secret, algorithm=HMAC_ALGORITHM)


def is_service_key(config: Config, credential: str) -> bool:
    """Whether the credential is one of the configured service keys (constant time per key)."""
    given = credential.encode()
    matched = False
    for key in config.api_keys:
        matched |= hmac.compare_digest(given, key.encode())
    return matched


def bearer(connection: HTTPConnection) -> str | None:
    """The credential of an `Authorization: Bearer …` header, if any."""
    scheme, _, credential = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credential.strip() or None


def authenticate(config: Config, connection: HTTPConnection) -> Caller:
    """The caller of a request; Unauthenticated without valid credentials."""
    credential = bearer(connection)
    if credential is None:
        raise Unauthenticated("send Authorization: Bearer <service API key or user token>")
    if is_service_key(config, credential):
        return SERVICE
    return verify_user_token(config, credential)


def require_service(config: Config, connection: HTTPConnection) -> Service:
    """Only a service key passes (the IM backend's routes)."""
    caller = authenticate(config, connection)
    if not isinstance(caller, Service):
        raise PermissionDenied("this route needs a service API key; user tokens reach only /v1/users/<own userID>/…")
    return caller


def require_user(config: Config, connection: HTTPConnection, user: str) -> Caller:
    """A service key, or a token of this same user."""
    caller = authenticate(config, connection)
    if isinstance(caller, Principal) and caller.user != user:
        raise PermissionDenied(f"a token of {caller.user} reaches only that user's routes")
    return caller
