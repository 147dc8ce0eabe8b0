"""The hand-written mutants: each a deliberate bug in a branch that carries an invariant, and its tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug."""

    name: str
    path: str  # relative to the repository root
    original: str  # must occur exactly once in the file
    replacement: str
    tests: tuple[str, ...]  # "test_file.py[::Class::test]", found under tests/, or a path like "tests/counters"
    equivalent: str = ""  # why this mutant cannot be told apart from the real code (its survival is expected)


# Test subsets, chosen to be quick and aimed at the mutated branch.
VER_GAP = ("test_event_loss.py::TestVerGap",)
STALE = ("test_event_loss.py::TestStaleEvents",)
AHEAD = ("test_event_loss.py::TestEventAheadOfRedis",)
LOST_CONN = ("test_event_loss.py::TestLostConnection", "test_faults.py::TestPubSubLoss")
OWN_WRITE = ("test_event_loss.py::TestLostOwnWrite",)
ATTACH = ("test_event_loss.py::TestAttach",)
OUTBOX = ("test_outbox.py", "test_event_loss.py::TestCoalescing")
SLOT_MOVE = ("test_cluster.py::TestCluster::test_slot_move_mid_stream_converges_without_reconnect",)
SLOT_BATCHES = ("test_cluster.py::TestCluster::test_pubsub_reconnect_resubscribes_slot_by_slot",)
COUNTING = ("test_rules.py", "test_clean_recall.py", "test_overflow.py", "test_events.py")

HUB, PUBSUB, OUTBOX_PY = "gateway/push/hub.py", "gateway/push/pubsub.py", "gateway/push/outbox.py"
INGEST, CLEAN, RECALL, RECV_OPT = (f"counters/lua/{n}.lua" for n in ("ingest", "clean", "recall", "recv_opt"))
FANOUT = "counters/fanout.py"

MUTANTS: tuple[Mutant, ...] = (
    # --- the hub: events apply only when their ver is exactly next; anything else reloads ----------------
    Mutant(
        "hub-gap-applies",
        HUB,
        "        elif event.ver > user.state.ver + 1:\n"
        "            user.held.append(event)\n"
        '            self._spawn(self._reload(user, "gap"))\n',
        "        elif event.ver > user.state.ver + 1:\n            self._apply(user, event)\n",
        VER_GAP,
    ),
    Mutant(
        "hub-gap-off-by-one",
        HUB,
        "elif event.ver > user.state.ver + 1:",
        "elif event.ver > user.state.ver + 2:",
        VER_GAP,
    ),
    Mutant(
        "hub-stale-applied",
        HUB,
        "elif event.ver <= user.state.ver:",
        "elif event.ver < 0:",
        STALE,
    ),
    Mutant(
        "hub-same-ver-applied",
        HUB,
        "elif event.ver <= user.state.ver:",
        "elif event.ver < user.state.ver:",
        STALE,
        equivalent="an event at the mirrored ver carries the absolute values the state already holds: "
        "applying it again changes nothing (it only re-pushes the same conversation values)",
    ),
    Mutant(
        "hub-reloading-drops-events",
        HUB,
        "        if user.reloading:\n            user.held.append(event)\n",
        "        if user.reloading:\n            pass\n",
        LOST_CONN,
    ),
    Mutant(
        "hub-reload-forgets-held",
        HUB,
        "held, user.held = [e for e in user.held[before:] if e.ver > fresh.ver], []",
        "held, user.held = [], []",
        LOST_CONN,
    ),
    Mutant(
        "hub-reload-keeps-events-from-before-it",
        HUB,
        "[e for e in user.held[before:] if e.ver > fresh.ver]",
        "[e for e in user.held if e.ver > fresh.ver]",
        AHEAD,
    ),
    Mutant(
        "hub-reload-again-ignored",
        HUB,
        "            if not user.reload_again:\n                return fresh, before\n",
        "            return fresh, before\n",
        LOST_CONN,
    ),
    Mutant(
        "hub-no-reload-on-resubscribe",
        HUB,
        '                self._spawn(self._reload(user, "reconnect"))\n',
        "                pass\n",
        LOST_CONN,
    ),
    Mutant(
        "hub-no-reload-on-ver-timeout",
        HUB,
        '            self._spawn(self._reload(user, "timeout"))\n',
        "            pass\n",
        OWN_WRITE,
    ),
    Mutant(
        "hub-snapshot-before-subscribed",
        HUB,
        "        await user.reader.subscribe(channel)\n",
        "        self._spawn(user.reader.subscribe(channel))\n",
        ATTACH,
    ),
    # --- the pub/sub reader -------------------------------------------------------------------------
    Mutant(
        "pubsub-resubscribe-not-reported",
        PUBSUB,
        "self._on_resubscribed(sorted(self.channels))",
        "self._on_resubscribed([])",
        LOST_CONN,
    ),
    Mutant(
        "pubsub-moved-slot-ignored",
        PUBSUB,
        'elif kind == b"sunsubscribe" and channel in self.channels:',
        'elif kind == b"sunsubscribe" and False:',
        SLOT_MOVE,
    ),
    Mutant(
        "pubsub-batches-span-slots",
        PUBSUB,
        "by_slot.setdefault(key_slot(channel), []).append(channel)",
        "by_slot.setdefault(0, []).append(channel)",
        SLOT_BATCHES,
    ),
    # --- the outbox: pushes coalesce by key, replies keep their order -------------------------------------
    Mutant(
        "outbox-conversations-replaced",
        OUTBOX_PY,
        "batch.conversations.update(conversations)",
        "batch.conversations = set(conversations)",
        OUTBOX,
    ),
    Mutant(
        "outbox-total-flag-overwritten",
        OUTBOX_PY,
        "batch.total |= total",
        "batch.total = total",
        OUTBOX,
    ),
    Mutant(
        "outbox-filters-flag-overwritten",
        OUTBOX_PY,
        "batch.filters |= filters",
        "batch.filters = filters",
        OUTBOX,
        equivalent="the only caller, Connection.changed, passes filters=True for every change that pushes "
        "anything while the connection has a filter, and a push of nothing returns before the flags",
    ),
    Mutant(
        "outbox-replies-reordered",
        OUTBOX_PY,
        "self._batch().replies.append(frame)",
        "self._batch().replies.insert(0, frame)",
        OUTBOX,
    ),
    Mutant(
        "outbox-reply-queue-unbounded",
        OUTBOX_PY,
        "len(self._pending.replies) >= MAX_PENDING_REPLIES",
        "len(self._pending.replies) >= 10**9",
        OUTBOX,
    ),
    # --- counting conditions (Lua and the fan-out that chooses recipients) ---------------------------------
    Mutant(
        "lua-ingest-recv-opt-1-counts",
        INGEST,
        "local muted = opt == 1 or (opt == 4 and not mentioned)",
        "local muted = (opt == 4 and not mentioned)",
        COUNTING,
    ),
    Mutant(
        "lua-ingest-recv-opt-4-ignores-mentions",
        INGEST,
        "local muted = opt == 1 or (opt == 4 and not mentioned)",
        "local muted = opt == 1 or opt == 4",
        COUNTING,
    ),
    Mutant(
        "lua-ingest-read-position-inclusive",
        INGEST,
        "if not muted and pos > num(read_t)",
        "if not muted and pos >= num(read_t)",
        COUNTING,
    ),
    Mutant(
        "lua-ingest-overflow-position-ignored",
        INGEST,
        "and pos > num(high_t)\n",
        "and true\n",
        COUNTING,
    ),
    Mutant(
        "lua-ingest-tombstone-ignored",
        INGEST,
        "and not redis.call('ZSCORE', zkey, tomb)\n",
        "and true\n",
        COUNTING,
    ),
    Mutant(
        "lua-ingest-total-counts-muted",
        INGEST,
        "      if opt == 0 then\n        total = total + 1\n",
        "      if opt ~= 1 then\n        total = total + 1\n",
        COUNTING,
    ),
    Mutant(
        "lua-ingest-fold-one-late",
        INGEST,
        "if unread - overflow > cap then",
        "if unread - overflow > cap + 1 then",
        COUNTING,
    ),
    Mutant(
        "lua-clean-goes-backwards",
        CLEAN,
        "if target > read and not seen[conv] then",
        "if not seen[conv] then",
        COUNTING,
    ),
    # This mutant and lua-recall-total-ignores-recv-opt survive COUNTING: only the Hypothesis state machine
    # (tests/counters/test_state_machine.py, minutes) kills them; no rule test cleans or recalls in a
    # conversation outside the total (recv_opt 2/3). Run them with --tests tests/counters to see it.
    Mutant(
        "lua-clean-total-ignores-recv-opt",
        CLEAN,
        "      if opt == 0 then\n        delta = delta + removed\n      end\n",
        "      delta = delta + removed\n",
        COUNTING,
    ),
    Mutant(
        "lua-clean-overflow-kept-at-its-top",
        CLEAN,
        "if overflow > 0 and folded_high <= target then",
        "if overflow > 0 and folded_high < target then",
        COUNTING,
    ),
    Mutant(
        "lua-recall-total-ignores-recv-opt",
        RECALL,
        "      if opt == 0 then\n",
        "      if true then\n",
        COUNTING,
    ),
    Mutant(
        "lua-recall-no-tombstone",
        RECALL,
        "    redis.call('ZADD', zkey, ms, tomb)\n",
        "",
        COUNTING,
    ),
    Mutant(
        "lua-recv-opt-unmute-keeps-total",
        RECV_OPT,
        "      elseif opt == 0 then\n",
        "      elseif false then\n",
        COUNTING,
    ),
    Mutant(
        "fanout-sender-counts",
        FANOUT,
        "        users.discard(msg.sender)\n",
        "",
        COUNTING,
    ),
    Mutant(
        "fanout-excluded-counts",
        FANOUT,
        "        if msg.excluded:\n            return\n",
        "        if False:\n            return\n",
        COUNTING,
    ),
)
