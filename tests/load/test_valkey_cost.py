"""The callgrind count of Valkey's work per update runs on a real valkey-server and counts plausibly."""

from __future__ import annotations

import pytest

from loadtest import valkey_cost


class TestValkeyCost:
    @pytest.mark.timeout(180)
    async def test_counts_instructions_of_each_scenario(self) -> None:
        """Each figure is the measured calls alone: thousands of instructions per unit, not zero, not the setup."""
        result = await valkey_cost.measure(members=20, conversations=300)
        # Measured here: ~90,000 per recipient and ~77,000 per conversation; the setup (group, members,
        # 300 C2C ingests) would add far more than 10x if it were counted too.
        assert 20_000 < result["ingest_per_recipient"] < 400_000, result
        assert 20_000 < result["clean_per_conversation"] < 400_000, result
