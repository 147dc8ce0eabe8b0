"""The embedded Valkey is the gateway's child: it dies with it, comes back when it dies, owns its directory alone."""

from __future__ import annotations

import os
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
from redis import Redis
from redis.exceptions import AuthenticationError, ResponseError
from support.gateway import SERVICE_KEY
from support.processes import DEADLINE, REDDOT, Gateway, clean_env

from counters.data_dir import PASSWORD_FILE

NewId = Callable[[str], str]
KEYS = ("--api-key", SERVICE_KEY, "--jwt-secret", "s" * 32)


def valkey_pid(data_dir: Path) -> int:
    """The pid of the valkey-server serving `data_dir`, from its pidfile."""
    return int((data_dir / "valkey.pid").read_text().strip())


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False


def servers_in(data_dir: Path) -> list[int]:
    """The pids of the valkey-servers working in `data_dir` (Valkey changes its directory to its data dir)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            valkey = proc.name.isdigit() and b"valkey-server" in (proc / "cmdline").read_bytes()
            if valkey and (proc / "cwd").resolve() == data_dir.resolve() and alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue  # gone meanwhile
    return found


async def until(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll `condition` until it holds, failing after `deadline` seconds."""
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await anyio.sleep(0.05)  # polling interval of a condition with a deadline


async def ingest(client: httpx.AsyncClient, messages: list[dict[str, object]]) -> httpx.Response:
    """POST messages as the IM backend."""
    return await client.post(
        "/v1/messages", json={"messages": messages}, headers={"Authorization": f"Bearer {SERVICE_KEY}"}
    )


class TestChildOfTheGateway:
    async def test_sigkill_of_the_gateway_leaves_no_valkey(self, tmp_path: Path) -> None:
        """kill -9 of `reddot serve`: its Valkey exits too, and a restart on the same directory runs one Valkey."""
        data = tmp_path / "var"
        first = Gateway(tmp_path, "--data-dir", str(data), *KEYS)
        try:
            await first.wait_ready()
            orphan = valkey_pid(data)
            first.process.kill()
            first.process.wait(DEADLINE)
            await until(lambda: not alive(orphan), "the Valkey of the killed gateway to exit")
            (tmp_path / "again").mkdir()
            second = Gateway(tmp_path / "again", "--data-dir", str(data), *KEYS)
            try:
                await second.wait_ready()
                assert [valkey_pid(data)] == servers_in(data)
            finally:
                assert 0 == second.terminate()
        finally:
            first.kill()

    async def test_sigkill_of_valkey_recovers_without_losing_a_message(self, tmp_path: Path, new_id: NewId) -> None:
        """kill -9 of Valkey mid-ingest: it comes back, ingest recovers alone, each acknowledged message counts once."""
        data = tmp_path / "var"
        gateway = Gateway(tmp_path, "--data-dir", str(data), *KEYS)
        alice, bob = new_id("alice"), new_id("bob")
        acknowledged: set[str] = set()
        try:
            await gateway.wait_ready()
            async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
                killed = False
                for i in range(200):
                    if i == 50:
                        os.kill(valkey_pid(data), signal.SIGKILL)
                        killed = True
                    message = {"id": f"m{i}", "from": bob, "to": alice, "timestamp": 1000 + i}
                    end = time.monotonic() + DEADLINE
                    while (reply := await ingest(client, [message])).status_code != 200:
                        assert 503 == reply.status_code, reply.text  # retryable while Valkey comes back
                        assert time.monotonic() < end, "ingest did not recover"
                        await anyio.sleep(0.05)  # the backend's retry interval
                    acknowledged.add(str(message["id"]))
                assert killed
                unread = (
                    await client.get(f"/v1/users/{alice}/unread", headers={"Authorization": f"Bearer {SERVICE_KEY}"})
                ).json()
                assert 200 == len(acknowledged) == unread["total"]
                assert 200 == (await client.get("/readyz")).status_code
        finally:
            assert 0 == gateway.terminate()


class TestDataDirectory:
    async def test_second_server_on_the_same_directory_refuses_at_once(self, tmp_path: Path) -> None:
        """A second `reddot serve` on a data directory in use exits non-zero within 5 s, naming the running one."""
        data = tmp_path / "var"
        first = Gateway(tmp_path, "--data-dir", str(data), *KEYS)
        try:
            await first.wait_ready()
            started = time.monotonic()
            with anyio.fail_after(DEADLINE):
                second = await anyio.run_process(
                    [str(REDDOT), "serve", "--port", "0", "--data-dir", str(data), *KEYS], env=clean_env(), check=False
                )
            assert time.monotonic() - started < 5
            assert 0 != second.returncode
            assert f"in use by reddot process {first.process.pid}" in second.stderr.decode()
            async with httpx.AsyncClient() as client:
                assert 200 == (await client.get(f"{first.url}/readyz")).status_code  # the first one is untouched
        finally:
            assert 0 == first.terminate()

    async def test_password_is_private_and_required(self, tmp_path: Path) -> None:
        """The embedded Valkey answers only with the password, which sits in a file mode 0600."""
        data = tmp_path / "var"
        gateway = Gateway(tmp_path, "--data-dir", str(data), *KEYS)
        try:
            await gateway.wait_ready()
            secret = data / PASSWORD_FILE
            assert 0o600 == stat.S_IMODE(secret.stat().st_mode)
            port = int((data / "valkey.conf").read_text().split("\nport ")[1].split()[0])
            with Redis(port=port) as anonymous, Redis(port=port, password="wrong") as guesser:
                for client in (anonymous, guesser):
                    try:
                        client.dbsize()
                    except (AuthenticationError, ResponseError):
                        pass  # NOAUTH, or a wrong password
                    else:
                        raise AssertionError("Valkey answered without the password")
            with Redis(port=port, password=secret.read_text().strip()) as owner:
                assert owner.ping()
            assert secret.read_text().strip() not in gateway.err.read_text() + gateway.out.read_text()
        finally:
            assert 0 == gateway.terminate()
