"""The server and its /openapi.json agree: Schemathesis, every check, finds nothing against a live dev gateway.

`st run` (a subprocess: its engine, phases and reports as a user would run them) drives a real uvicorn
gateway in dev mode with the service key: schema-valid requests must be accepted, schema-violating ones
refused, every status and reply documented, undeclared methods 405. Bounded in examples per operation
and with a fixed seed, so a run takes well under a minute and a failure reproduces with the same seed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.gateway import SERVICE_KEY, LiveServer, base_config

HERE = Path(__file__).parent
EXAMPLES = 25  # test cases per operation and phase
SEED = 20260412
DEADLINE = 240  # seconds; the run takes 30-60 s on a busy 2-core machine

pytestmark = pytest.mark.timeout(DEADLINE + 30)


@pytest.fixture(scope="module")
def served(redis_url: str) -> Iterator[LiveServer]:
    """A dev-mode gateway of its own (the demo and dev routes are on) with the test service key."""
    with LiveServer(base_config(redis_url, dev=True)) as server:
        yield server


def test_schema_and_server_agree(served: LiveServer, tmp_path: Path) -> None:
    """`st run --checks all` against /openapi.json finds no failure."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml"),
        "run", f"{served.url}/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {SERVICE_KEY}",
        "--max-examples", str(EXAMPLES),
        "--seed", str(SEED),
        "--generation-database", "none",
        "--request-timeout", "20",
        "--no-color",
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py")}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=DEADLINE)
    report = "" if run.returncode == 0 else _shortened(run.stdout) + run.stderr[-2000:]
    assert run.returncode == 0, report


def _shortened(output: str) -> str:
    """The failures and the summary of `st run`, each line cut to a readable length (bodies can be huge)."""
    start = output.find("FAILURES")
    return "\n".join(line[:400] for line in output[start if start >= 0 else 0 :].splitlines())
