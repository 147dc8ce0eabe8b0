"""Resource sampling: CPU seconds and RSS of server processes, Redis CPU and memory from INFO."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psutil  # type: ignore[import-untyped]
from redis import Redis


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of every measured process and of Redis."""

    at: float
    cpu: dict[int, float]  # pid -> user + system CPU seconds
    rss: dict[int, int]  # pid -> resident bytes
    redis_cpu: float
    redis_memory: int  # used_memory
    redis_rss: int


def cpu_seconds(info: Mapping[str, Any]) -> float:
    """CPU seconds (user + system) the Redis server has used, from its INFO cpu section."""
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Meter:
    """Reads the processes of the servers under test and the Redis INFO sections."""

    def __init__(self, pids: list[int], redis_url: str) -> None:
        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.redis = Redis.from_url(redis_url, decode_responses=True)

    def sample(self) -> Sample:
        """Read everything now."""
        cpu, rss = {}, {}
        for pid, proc in self.procs.items():
            times = proc.cpu_times()
            cpu[pid] = times.user + times.system
            rss[pid] = proc.memory_info().rss
        info = self.redis.info("cpu") | self.redis.info("memory")
        return Sample(
            at=time.monotonic(),
            cpu=cpu,
            rss=rss,
            redis_cpu=cpu_seconds(info),
            redis_memory=int(info["used_memory"]),
            redis_rss=int(info["used_memory_rss"]),
        )

    def close(self) -> None:
        """Drop the Redis connection."""
        self.redis.close()


@dataclass(frozen=True, slots=True)
class Usage:
    """What the servers and Redis spent between two samples."""

    seconds: float
    server_cpu: float  # CPU seconds of every server process together
    server_rss: int  # resident bytes of every server process together, at the end
    redis_cpu: float
    redis_memory: int
    redis_rss: int

    @property
    def redis_share(self) -> float:
        """Redis CPU seconds per wall second (1.0 = one core busy)."""
        return self.redis_cpu / self.seconds if self.seconds else 0.0

    @property
    def server_share(self) -> float:
        """Server CPU seconds per wall second."""
        return self.server_cpu / self.seconds if self.seconds else 0.0


def usage(start: Sample, end: Sample) -> Usage:
    """The difference of two samples (memory: the end values)."""
    return Usage(
        seconds=end.at - start.at,
        server_cpu=sum(end.cpu[p] - start.cpu[p] for p in end.cpu),
        server_rss=sum(end.rss.values()),
        redis_cpu=end.redis_cpu - start.redis_cpu,
        redis_memory=end.redis_memory,
        redis_rss=end.redis_rss,
    )
