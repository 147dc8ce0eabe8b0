"""User tokens kept out of uvicorn's logs, which write each request path with its query (`/v1/ws?token=<JWT>`)."""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

REDACTED = "[redacted]"  # ASCII: the access log goes to stdout, whose encoding may lack "…"
LOGGERS = ("uvicorn.access", "uvicorn.error")  # HTTP request lines; WebSocket handshakes (at info level)


class RedactTokens(logging.Filter):
    """Rewrites the value of every `token` query parameter in a record's arguments to `[redacted]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The arguments, not the message: uvicorn's access formatter unpacks them by position.
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


_FILTER = RedactTokens()


def redact_tokens() -> None:
    """Filter uvicorn's loggers; calling again adds nothing, as a logger keeps one copy of a filter."""
    for name in LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)


def _redacted(arg: object) -> object:
    # Only `token`'s value goes, so operators keep the other parameters of HTTP requests. Names are
    # compared decoded, as the endpoint reads them (`%74oken=` is a token too); any path counts, so a
    # token sent to a mistyped URL (`/v1/ws/`) is not logged either.
    if not isinstance(arg, str) or "?" not in arg:
        return arg
    path, _, query = arg.partition("?")  # uvicorn quotes the path, so its first "?" starts the query
    pairs = [pair.partition("=") for pair in query.split("&")]
    kept = [
        f"{name}={REDACTED}" if eq and unquote_plus(name) == "token" else name + eq + value for name, eq, value in pairs
    ]
    return f"{path}?{'&'.join(kept)}"
