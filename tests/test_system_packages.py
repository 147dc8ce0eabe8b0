"""`make test` on a machine without the Debian packages it needs: installs them as root, else one clear line."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "system-packages"


def run_without_packages(tmp_path: Path, uid: int) -> subprocess.CompletedProcess[str]:
    """The script on a PATH that has none of the packages, as a user with this uid, and no apt-get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (bin_dir / "id").chmod(0o755)
    return subprocess.run(
        ["/bin/bash", str(SCRIPT)], env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=30
    )


class TestSystemPackages:
    def test_missing_packages_without_root_stop_with_one_command(self, tmp_path: Path) -> None:
        """Not root: exit 1 at once, with one line naming the command that installs what is missing."""
        result = run_without_packages(tmp_path, uid=1000)
        command = "sudo apt-get install -y chromium redis-server valgrind"
        expected = f"make test needs Debian packages that are missing; run: {command}"
        assert (1, [expected]) == (result.returncode, result.stderr.splitlines())

    def test_nothing_missing_is_silent(self) -> None:
        """On this machine (everything installed), the step passes and prints nothing."""
        result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=30)
        assert (0, "", "") == (result.returncode, result.stdout, result.stderr)
