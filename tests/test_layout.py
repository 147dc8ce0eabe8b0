"""The layout's boundaries hold: a serving gateway loads no load tool, and the import contracts catch a violation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run the import contracts of `tree`'s pyproject.toml on the packages in `tree`."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def copy_of_packages(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied: a tree to break on purpose."""
    for package in ("counters", "gateway", "loadtest"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("static", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


class TestBoundaries:
    def test_serving_gateway_imports_no_load_tool(self) -> None:
        """`import gateway.cli` (what `reddot serve` runs) loads neither loadtest nor the bench's peers."""
        tools = ("loadtest", "socketio", "matplotlib")
        probe = f"import sys, gateway.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in {tools}))"
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
        assert "[]" == out.stdout.strip()

    def test_contracts_hold_on_the_repo(self, tmp_path: Path) -> None:
        """Every import contract is kept by the code as it is."""
        result = lint_imports(copy_of_packages(tmp_path))
        assert 0 == result.returncode, result.stdout + result.stderr

    def test_counters_importing_the_gateway_breaks_a_contract(self, tmp_path: Path) -> None:
        """A deliberate violation (the counting core importing the gateway) fails the lint."""
        tree = copy_of_packages(tmp_path)
        keys = tree / "counters" / "keys.py"
        keys.write_text(keys.read_text() + "\nimport gateway.config  # noqa: E402, F401\n")
        result = lint_imports(tree)
        assert 1 == result.returncode
        assert "counters (the counting core) never imports the gateway or the load tool BROKEN" in result.stdout

    def test_a_cycle_between_gateway_subpackages_breaks_a_contract(self, tmp_path: Path) -> None:
        """The push path importing the WebSocket connection (which imports the push path) fails the lint."""
        tree = copy_of_packages(tmp_path)
        outbox = tree / "gateway" / "push" / "outbox.py"
        outbox.write_text(outbox.read_text() + "\nimport gateway.ws.connection  # noqa: E402, F401\n")
        result = lint_imports(tree)
        assert 1 == result.returncode
        assert "no import cycles" in result.stdout and "BROKEN" in result.stdout
