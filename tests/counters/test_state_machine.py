"""Random operation sequences against the real server and the reference model, checked after every step.

The limits are small (support.machine_specs.LIMITS), so within a few steps a conversation folds
messages into its overflow, a user's oldest recall tombstones are dropped, and a group fan-out takes
several function calls and round trips; a step may also flush the function library. A random run
must reach the common ones of these (support.machine_harness.SEEN counts them); a fixed sequence of
the same rules reaches every one, the overflow's three inexact cases included.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from support.machine import CountingMachine
from support.machine_harness import SEEN, load_library
from support.machine_specs import LIMITS, POOL, NewC2C, NewGroup, RecallUnread

from counters import C2CRecall, GroupRecall

EXAMPLES = int(os.environ.get("REDDOT_STATE_MACHINE_EXAMPLES", "300"))
# Reached dozens to hundreds of times by every random run of the default length.
COMMON = (
    "fold",
    "tombstone dropped",
    "ingest: several recipients in one call",
    "ingest: several round trips",
    "recall: one message split over calls",
    "recall: several recipients in one call",
    "recall: several round trips",
    "FUNCTION FLUSH",
    "a call after FUNCTION FLUSH reloaded the library",
    "get_group of a live group",
)
# Rarer in a random run (a few to dozens of times per run; the fixed sequence reaches each).
RARER = (
    "ingest: one message split over calls",
    "late message at or below X",
    "redelivery of a folded message",
    "clean below X keeps the overflow",
    "recall of a folded message",
    "recalled message counted after its tombstone was dropped",
)


class TestStateMachine:
    # A passing run takes well under the suite's 120 s; a failing one is shrunk against the real
    # server first, which Hypothesis caps at 300 s: the minimal failing sequence is worth the wait.
    @pytest.mark.timeout(600)
    def test_random_operations_agree_with_the_model(self, redis_url: str) -> None:
        """Any sequence of operations leaves every user's counts, totals and events equal to the model's."""
        asyncio.run(load_library(redis_url))
        SEEN.clear()
        run_state_machine_as_test(
            lambda: CountingMachine(redis_url),
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=30,
                deadline=None,
                report_multiple_bugs=False,
                # Explaining a failure replays every step many times more: minutes against a real server.
                phases=[phase for phase in Phase if phase is not Phase.explain],
            ),
        )
        print("reached:", dict(sorted(SEEN.items())))  # shown with -rP
        if EXAMPLES >= 300:  # a shorter run (REDDOT_STATE_MACHINE_EXAMPLES) may miss some
            assert [] == [label for label in COMMON if not SEEN[label]], dict(SEEN)

    def test_fixed_sequence_reaches_every_cap(self, redis_url: str) -> None:
        """The machine's rules in a fixed order, every invariant after each: folds and the overflow's
        three inexact cases, a dropped tombstone letting its message count again, fan-outs split over
        calls and round trips (one recipient per call, then two), a call after FUNCTION FLUSH."""
        asyncio.run(load_library(redis_url))
        SEEN.clear()
        m = CountingMachine(redis_url)
        u0, u1, _ = m.users
        g0, g1 = m.chats
        quiet = NewGroup(0, 0, 1, False, frozenset(), False, None)  # u0 in g0, mentioning no one
        steps = [
            lambda: m.start(["Work", "Work"], [frozenset({0, 1, 2})] * 2, [[]] * 3, [[0] * POOL] * 3, 1),
            # m0 at 5, m1 at 3, m2 at 4 for u1 and u2 (cap 2): m1 folds, X = 3; 6 calls in 3 round trips.
            lambda: m.ingest_group(quiet._replace(seq=5), [3, 4]),
            lambda: m.ingest_group(quiet._replace(seq=2), []),  # m3 at 2 ≤ X: not counted
            lambda: m.redeliver([1]),  # m1 again: folded, not counted again
            lambda: m.clean_under_overflow(0),  # u1 reads up to 1 < X: the overflow stays
            lambda: m.recall([RecallUnread(0, folded=True)]),  # m1: tombstones, but the counts stay
            lambda: m.ingest_c2c(NewC2C(0, 1, 10, False), []),  # m4: u0 → u1
            lambda: m.recall_all([C2CRecall("m4", u0, u1)]),  # u1 keeps tombstones m1, m4
            lambda: m.recall_all([GroupRecall("m2", g0), GroupRecall("m0", g0)]),  # m1's and m4's dropped
            lambda: m.redeliver_recalled([1]),  # m4 again: counts for u1 again
            m.flush_functions,
            lambda: m.clean_bulk(1, "", 0, 0),  # reloads the library
            lambda: m.get_group(0),
            lambda: m.use(dataclasses.replace(LIMITS, recipients_per_call=2)),
            lambda: m.ingest_group(quiet._replace(chat=1, seq=7), []),  # m5: u1 and u2 in one call
            lambda: m.recall_all([GroupRecall("m5", g1)]),  # u0, u1, u2: two calls
        ]
        try:
            for step in steps:
                step()
                m.check_all()
        finally:
            m.teardown()
        assert [] == [label for label in (*COMMON, *RARER) if not SEEN[label]], dict(SEEN)
