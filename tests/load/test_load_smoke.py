"""A few seconds of `reddot load` against a gateway it starts: every client ends equal to Redis."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from support.processes import Gateway

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


class TestAgainstMakeRun:
    @pytest.mark.timeout(90)
    async def test_load_targets_a_dev_gateway_out_of_the_box(self, tmp_path: Path) -> None:
        """`reddot load --target URL` drives `reddot serve --dev` with the keys it wrote; no secret in the result."""
        data = tmp_path / "var"
        gateway = Gateway(tmp_path, "--dev", "--data-dir", str(data))
        try:
            await gateway.wait_ready()
            credentials = json.loads((data / "dev-credentials.json").read_text())
            assert 0o600 == (data / "dev-credentials.json").stat().st_mode & 0o777
            out = tmp_path / "load.json"
            argv = ["load", "--target", gateway.url, "--credentials", str(data / "dev-credentials.json"),
                    "--clients", "20", "--group-sizes", "10", "--rate", "100", "--duration", "2",
                    "--json", str(out), "--workdir", str(tmp_path / "work")]  # fmt: skip
            status = await anyio.to_thread.run_sync(main, argv)
            text = out.read_text()
            assert (0, 0) == (status, json.loads(text)["drift"]["drifted"])
            secrets = [credentials["api_key"], credentials["jwt_secret"], credentials["redis_url"].split("@")[0]]
            assert [] == [secret for secret in secrets if secret in text]
            banner = gateway.out.read_text()
            assert "generated service key and token secret" in banner
            assert f"reddot load --target {gateway.url}" in banner
        finally:
            gateway.kill()
