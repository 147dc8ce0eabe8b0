"""Every Redis key and channel name reddot uses, built in this one module."""

# One user = one hash tag, so every per-user function touches one cluster slot.
# The user hash `u:{u:<uid>}` holds all scalar state of a user, with fields:
#   t              total: sum of unread over conversations with recv_opt 0
#   v              ver: grows with every change of the user's state
#   gc             how many conversation groups the user has (group_create, group_delete)
#   n:<conv>       unread (only while > 0)
#   m:<conv>       mentions among the unread (only while > 0)
#   r:<conv>       read position: timestamp (C2C) or sequence (group), never decreases
#   o:<conv>       recv_opt (only while != 0)
#   k:<conv>       marks, 16 lowercase hex digits (only while != 0)
#   g:<conv>       the conversation's conversation groups, joined by "\n"
#   x:<conv>       overflow: unread messages folded out of the position set
#   X:<conv>       overflow: highest position folded
#   y:<conv>       overflow: mentions among the folded messages
#   G:<name>       a conversation group (value: member count)
# Keeping every scalar in one hash makes HGETALL an atomic snapshot and keeps
# a recipient update at four keys.


def user(uid: str) -> str:
    """The user hash (all scalar state of one user)."""
    return f"u:{{u:{uid}}}"


def positions(uid: str, conv: str) -> str:
    """Zset of one conversation's unread message ids, scored by position."""
    return f"p:{{u:{uid}}}:{conv}"


def mentions(uid: str, conv: str) -> str:
    """Zset of the unread message ids that mention the user, scored by position."""
    return f"a:{{u:{uid}}}:{conv}"


def recalled(uid: str) -> str:
    """Zset of recalled `<conv>\\n<id>` tombstones, so a redelivery never counts."""
    return f"z:{{u:{uid}}}"


def conversation_group(uid: str, name: str) -> str:
    """Set of the conversations in one of the user's conversation groups."""
    return f"cg:{{u:{uid}}}:{name}"


def events(uid: str) -> str:
    """The user's change-event channel (sharded pub/sub on a cluster)."""
    return f"ev:{{u:{uid}}}"


def group(gid: str) -> str:
    """Hash of a group chat: its type."""
    return f"grp:{{g:{gid}}}"


def members(gid: str) -> str:
    """Set of a group chat's current members."""
    return f"mem:{{g:{gid}}}"


def reached(gid: str) -> str:
    """Set of every user who ever was a member or a recipient: who a recall must visit."""
    return f"rcp:{{g:{gid}}}"


def recipient_keys(uid: str, conv: str) -> tuple[str, str, str, str]:
    """The four keys an ingest or recall touches for one recipient."""
    tag = f"{{u:{uid}}}"
    return f"u:{tag}", f"p:{tag}:{conv}", f"a:{tag}:{conv}", f"z:{tag}"


USER_PREFIX = "u:{u:"
"""Scan pattern prefix for user hashes (tests and the dashboard count users with it)."""


def process_reports() -> str:
    """Hash of the live gateway processes: process id → its latest report (JSON with a timestamp).

    One small hash, not a key per process: SCAN over a keyspace of millions of user keys would cost
    the dashboard O(keys) every second, while HGETALL costs O(processes). Fields carry their own
    timestamp (per-field expiry needs Redis 7.4), and the hash itself expires when no process writes.
    """
    return "fleet:gateways"  # the name predates the rename: kept so running dashboards read on
