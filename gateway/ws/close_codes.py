"""WebSocket close codes of docs/protocol.md §3, named; each says whether a client should reconnect."""

UNAUTHENTICATED = 4001  # bad token: do not retry with the same token
EXPIRED = 4001  # token expired without `refresh`: get a new token, then reconnect
FORBIDDEN = 4003  # origin not allowed
POLICY = 4008  # rate limited, or too slow to read: reconnect later, read faster
TOO_MANY = 4029  # too many connections for this user: close another device's connection first
TOO_BIG = 1009  # a frame over 64 KiB (sent by uvicorn's ws_max_size)
MAX_FRAME = 64 * 1024  # bytes of one frame, either way (docs/protocol.md §3)
INTERNAL = 1011  # a bug: reconnect with backoff
RESTARTING = 1012  # the gateway is shutting down: reconnect with backoff and jitter
OVERLOADED = 1013  # this process is at its connection cap: reconnect with backoff (maybe elsewhere)
