"""The embedded server's data directory: one owner at a time (a lock), and the server's password."""

from __future__ import annotations

import fcntl
import os
import secrets
import time
from pathlib import Path

LOCK_FILE = "reddot.lock"
PASSWORD_FILE = "valkey.password"
# A killed gateway's Valkey still holds the lock while it flushes its AOF and exits (it gets SIGTERM
# when its parent dies): a new server waits this long for it instead of refusing.
ORPHAN_GRACE_SECONDS = 10.0


class DataDirInUse(RuntimeError):
    """Another live reddot process owns the data directory."""


class DataDirLock:
    """An exclusive `flock` on `<data dir>/reddot.lock`, which holds the owner's pid.

    The kernel drops the lock when every holder is gone, however it ended (SIGKILL included), so a
    lock is never stale. The embedded Valkey inherits the descriptor: the directory stays locked
    until both the gateway and its Valkey have exited, and no second Valkey ever opens the same AOF.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> int:
        """Take the lock or raise DataDirInUse naming its owner; returns the locked descriptor."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                owner = _owner(fd)
                if owner is not None and _alive(owner):
                    os.close(fd)
                    raise DataDirInUse(
                        f"the data directory {self.path.parent} is in use by reddot process {owner}: "
                        "stop it first, or give this one another --data-dir"
                    ) from None
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise DataDirInUse(
                        f"the data directory {self.path.parent} is still locked {ORPHAN_GRACE_SECONDS:.0f} s after "
                        f"its owner (process {owner}) died: a server it started has not exited yet"
                    ) from None
                time.sleep(0.05)  # the dead owner's Valkey is flushing its AOF: a few ms to a second
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return fd

    def release(self) -> None:
        """Let go of the lock (the Valkey child, once it exited, no longer holds it either)."""
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def password(data_dir: Path) -> str:
    """The server's password: made once, kept in a file only its owner can read (mode 0600)."""
    path = data_dir / PASSWORD_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")
    return secret


def _owner(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
