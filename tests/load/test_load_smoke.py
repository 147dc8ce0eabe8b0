"""A few seconds of `reddot load` against a gateway it starts: every client ends equal to Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main


class TestLoadSmoke:
    @pytest.mark.timeout(60)
    def test_short_run_has_zero_drift(self, redis_url: str, tmp_path: Path) -> None:
        """Clients, groups and every kind of operation for two seconds: no drift, no failed connection."""
        out = tmp_path / "load.json"
        argv = ["load", "--redis-url", redis_url, "--clients", "40", "--group-sizes", "10,30",
                "--conversation-groups", "5", "--rate", "200", "--duration", "2",
                "--json", str(out), "--workdir", str(tmp_path / "work")]  # fmt: skip
        status = main(argv)
        result = json.loads(out.read_text())
        assert 0 == result["drift"]["drifted"], result["drift"]
        assert 40 == result["connections"]
        assert 0 == status
        assert result["recipient_updates_per_s"] > 0
        assert result["latency"]["count"] > 0
