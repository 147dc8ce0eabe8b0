"""Gateway settings: one frozen dataclass, filled from flags, then REDDOT_* variables, then defaults."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from counters import Limits

T = TypeVar("T")
MIN_SECRET_BYTES = 32  # HS256 keys shorter than the hash output are brute-forceable (RFC 7518 §3.2)
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


class ConfigError(ValueError):
    """A setting is missing or malformed; the server must not start."""


def _setting(default: T, env: str, help: str, *, flag: str = "", parse: Callable[[str], Any] = str) -> T:
    """A Config field carrying its environment variable, flag and help text beside its default."""
    meta = {"env": env, "help": help, "flag": flag, "parse": parse}
    return field(default=default, metadata=meta)


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"expected 1 or 0, got {text!r}")


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(",") if word.strip())


@dataclass(frozen=True, slots=True)
class Config:
    """Every setting of one gateway process, each with its default."""

    host: str = _setting("127.0.0.1", "REDDOT_HOST", "interface to listen on")
    port: int = _setting(8000, "REDDOT_PORT", "TCP port to listen on", parse=int)
    redis_url: str | None = _setting(
        None, "REDDOT_REDIS_URL", "redis://…, rediss://… or redis+cluster://…; none starts the embedded Valkey"
    )
    data_dir: str = _setting("./var", "REDDOT_DATA_DIR", "data directory of the embedded Valkey")
    api_keys: tuple[str, ...] = _setting(
        (), "REDDOT_API_KEYS", "service API key (repeatable; env: comma-separated)", flag="--api-key", parse=_words
    )
    jwt_secret: str | None = _setting(None, "REDDOT_JWT_SECRET", "HS256 secret of user tokens (at least 32 bytes)")
    jwt_public_key: str | None = _setting(
        None, "REDDOT_JWT_PUBLIC_KEY", "RS256/ES256 public key of user tokens: PEM text or a path to a PEM file"
    )
    allowed_origins: tuple[str, ...] = _setting(
        (),
        "REDDOT_ALLOWED_ORIGINS",
        "origin allowed to open WebSockets from a browser (repeatable; env: comma-separated; default: same origin)",
        flag="--allowed-origin",
        parse=_words,
    )
    dev: bool = _setting(False, "REDDOT_DEV", "dev mode: generated keys, POST /v1/dev/token, demo", parse=_flag)
    max_body_bytes: int = _setting(1 << 20, "REDDOT_MAX_BODY_BYTES", "largest HTTP request body", parse=int)
    dev_token_ttl: int = _setting(3600, "REDDOT_DEV_TOKEN_TTL", "lifetime of dev tokens in seconds", parse=int)
    max_connections_per_user: int = _setting(
        10, "REDDOT_MAX_CONNECTIONS_PER_USER", "WebSocket connections per user", parse=int
    )
    # Below the process's open-file limit (20000 here): past it, handshakes fail silently (docs/internals.md).
    max_connections: int = _setting(18000, "REDDOT_MAX_CONNECTIONS", "WebSocket connections per process", parse=int)
    ops_per_second: int = _setting(
        50, "REDDOT_OPS_PER_SECOND", "WebSocket requests per second per connection", parse=int
    )
    send_deadline_seconds: float = _setting(
        10.0, "REDDOT_SEND_DEADLINE_SECONDS", "a stuck WebSocket client is closed after this long", parse=float
    )
    # Browsers cannot ping, so a proxy's idle timeout (nginx: 60 s) sees only the server's pings.
    ping_interval_seconds: float = _setting(
        30.0, "REDDOT_PING_INTERVAL_SECONDS", "seconds between WebSocket keepalive pings (0: none)", parse=float
    )
    ping_timeout_seconds: float = _setting(
        20.0, "REDDOT_PING_TIMEOUT_SECONDS", "a connection whose pong is this late is closed (1011)", parse=float
    )
    # Not a flag: the sizes of counters/limits.py that this gateway enforces and documents (embedders and
    # tests may pass others). The app builds its Counters with them; HTTP, WebSocket and /openapi.json read them.
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env_and_args(cls, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Config:
        """Parse `reddot serve` flags; unset flags fall back to the environment, then to defaults."""
        parser = argparse.ArgumentParser(prog="reddot serve")
        add_arguments(parser)
        return cls.from_namespace(parser.parse_args(argv), env)

    @classmethod
    def from_namespace(cls, args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Config:
        """Build from parsed flags (None = unset) and the environment; ConfigError if unusable."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in settings():
            flag_value = getattr(args, spec.name, None)
            if flag_value is not None:
                values[spec.name] = tuple(flag_value) if isinstance(flag_value, list) else flag_value
            elif env.get(spec.metadata["env"]):  # an empty variable counts as unset
                values[spec.name] = _from_env(spec, env[spec.metadata["env"]])
        return cls(**values).checked()

    def checked(self) -> Config:
        """This config made ready to serve: keys resolved, dev secrets generated, or ConfigError."""
        config = self
        if config.jwt_public_key:
            config = dataclasses.replace(config, jwt_public_key=_read_public_key(config.jwt_public_key))
        if config.dev:
            config = dataclasses.replace(
                config,
                api_keys=config.api_keys or (secrets.token_urlsafe(24),),
                jwt_secret=config.jwt_secret or secrets.token_urlsafe(MIN_SECRET_BYTES),
            )
        config._check()
        return config

    def _check(self) -> None:
        if not self.api_keys:
            raise ConfigError("no service API key: pass --api-key or REDDOT_API_KEYS (or --dev to generate one)")
        if not (self.jwt_secret or self.jwt_public_key):
            raise ConfigError(
                "no user-token key: pass --jwt-secret/REDDOT_JWT_SECRET or --jwt-public-key/REDDOT_JWT_PUBLIC_KEY"
                " (or --dev to generate a secret)"
            )
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes long")
        if self.redis_url is not None and self.redis_url.partition("://")[0] not in REDIS_SCHEMES:
            raise ConfigError(f"the Redis URL must start with one of {', '.join(s + '://' for s in REDIS_SCHEMES)}")
        if not 0 <= self.port < 65536:
            raise ConfigError("the port must be 0-65535")
        for name in ("max_body_bytes", "dev_token_ttl", "max_connections_per_user", "max_connections"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        seconds = (self.send_deadline_seconds, self.ping_timeout_seconds, self.ping_interval_seconds)
        if not all(math.isfinite(value) for value in seconds):
            raise ConfigError("send_deadline_seconds, ping_timeout_seconds and ping_interval_seconds must be finite")
        if self.ops_per_second < 1 or self.send_deadline_seconds <= 0 or self.ping_timeout_seconds <= 0:
            raise ConfigError("ops_per_second, send_deadline_seconds and ping_timeout_seconds must be positive")
        if self.ping_interval_seconds < 0:
            raise ConfigError("ping_interval_seconds must be 0 (no pings) or more")


def settings() -> list[dataclasses.Field[Any]]:
    """The Config fields that are settings: each has a flag and an environment variable."""
    return [spec for spec in dataclasses.fields(Config) if "env" in spec.metadata]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting; defaults stay None so the environment can fill what is unset."""
    for spec in settings():
        meta = spec.metadata
        flag = meta["flag"] or "--" + spec.name.replace("_", "-")
        shown = "none" if spec.default in (None, ()) else spec.default
        help_text = f"{meta['help']} [env {meta['env']}; default {shown}]"
        if spec.name == "dev":
            parser.add_argument(flag, action="store_true", default=None, help=help_text)
        elif isinstance(spec.default, tuple):
            parser.add_argument(flag, dest=spec.name, action="append", metavar="VALUE", help=help_text)
        else:
            parser.add_argument(flag, dest=spec.name, type=meta["parse"], metavar="VALUE", help=help_text)


def _from_env(spec: dataclasses.Field[Any], text: str) -> Any:
    try:
        return spec.metadata["parse"](text)
    except ValueError as error:
        raise ConfigError(f"{spec.metadata['env']}={text!r} is not valid: {error}") from None


def _read_public_key(value: str) -> str:
    """PEM text as given, or read from a file; ConfigError unless it is an RSA or P-256 EC public key."""
    pem = value
    if not value.lstrip().startswith("-----BEGIN"):
        try:
            pem = Path(value).read_text()
        except OSError as error:
            raise ConfigError(f"cannot read the JWT public key file {value!r}: {error.strerror}") from None
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        raise ConfigError("the JWT public key is not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ConfigError("the JWT public key must be an RSA (RS256) or EC P-256 (ES256) key")
    if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError("an EC JWT public key must be on curve P-256 (ES256)")
    return pem
