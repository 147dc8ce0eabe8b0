"""`make bench`: the fixed suite (ingest, push vs peers, memory, fan-out, clean-all), then the report."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from redis import Redis

from loadtest import clean_floor, ingest_floor, server_lag
from loadtest.benchdoc import CONNECTIONS, RATES, write
from loadtest.drift import check
from loadtest.drive import Population, Traffic, parse_mix, setup
from loadtest.http import HttpPool
from loadtest.measure import cpu_seconds
from loadtest.peers import bare_forwarder, socketio_peer
from loadtest.report import MB, percentiles
from loadtest.run import Phase, Run

OUT = Path("bench-out")
PHASE_SECONDS = 4.0
INGEST_SECONDS = 8.0
FANOUT_MEMBERS, FANOUT_TRIALS = 5_000, 3
CLEAN_CONVERSATIONS = 10_000


def say(text: str) -> None:
    """A progress line on stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def summary(phase: Phase, latencies: list[float]) -> dict[str, Any]:
    """The figures of one push phase."""
    return {
        "rate": phase.rate, "seconds": phase.seconds, "frames": phase.frames,
        "frames_per_s": phase.frames_per_second, "frames_per_cpu_s": phase.frames_per_cpu_second,
        "server_cpu_s": phase.usage.server_cpu, "redis_cpu_share": phase.usage.redis_cpu / phase.seconds,
        "latency": percentiles(latencies), "latencies_ms": sorted(x * 1000 for x in latencies)[::10],
    }  # fmt: skip


async def ingest(workdir: Path) -> dict[str, Any]:
    """A stream of 1000-member group messages: recipient updates/s and Valkey's CPU share."""
    run = Run("reddot", workdir / "ingest")
    try:
        run.start_servers(1)
        pop = Population.make(1000, [1000] * 4, prefix="ing")
        pool = HttpPool(run.urls[0], run.api_key, size=4)
        await setup(pool, pop, 0)
        traffic = Traffic(pool, pop, parse_mix("group=1"))
        # More than it can take, with few requests in flight: the backlog stays short.
        phase = await run.phase(200, INGEST_SECONDS, traffic.emit, "ingest", in_flight=8)
        await pool.close()
        share = phase.usage.redis_cpu / phase.seconds
        say("ingest: the floors of this Valkey (HINCRBY + SPUBLISH; the commands exact counting needs)")
        floor = await ingest_floor.measure(run.redis_url, INGEST_SECONDS / 2, function="floor")
        exact = await ingest_floor.measure(run.redis_url, INGEST_SECONDS / 2, function="exact")
        return {"messages_per_s": traffic.accepted / phase.seconds, "updates_per_s": traffic.updates / phase.seconds,
                "valkey_cpu_share": share, "gateway_cpu_share": phase.usage.server_cpu / phase.seconds,
                "updates_per_valkey_cpu_s": traffic.updates / phase.usage.redis_cpu, "floor": floor,
                "exact_floor": exact}  # fmt: skip
    finally:
        run.close()


async def push(system: str, workdir: Path) -> dict[str, Any]:
    """Connections × rates for one system; idle RSS per connection at the largest count."""
    run = Run(system, workdir / f"push-{system}")
    out: dict[str, Any] = {"phases": {}}
    try:
        # reddot: one gateway takes the HTTP ingest, another holds the sockets; the second is the one
        # comparable with the peers' servers, whose writers are outside them too.
        run.start_servers(2 if system == "reddot" else 1)
        push_url = run.urls[-1]
        run.measured = [run.pids[-1]]
        pop = Population.make(max(CONNECTIONS), [], prefix=f"p{system[:2]}{int(time.time()) % 100000}")
        pool = HttpPool(run.urls[0], run.api_key)
        traffic = Traffic(pool, pop, parse_mix("c2c=1"))
        emitter = _emitter(system, run.redis_url, pop.users)
        for count in CONNECTIONS:
            users = pop.tokens(run.jwt_secret)[:count]
            rss0 = run.meter().sample().rss[run.pids[-1]]
            say(f"push {system}: connecting {count}")
            clients = await asyncio.to_thread(run.connect, users, False, [push_url])
            await asyncio.sleep(2)
            rss1 = run.meter().sample().rss[run.pids[-1]]
            if count == max(CONNECTIONS):
                out["rss_per_connection_kb"] = (rss1 - rss0) / count / 1024
                out["rss_mb"] = rss1 / MB
            out["connect_failures"] = out.get("connect_failures", 0) + clients.failed
            traffic.pop = Population(pop.users[:count], {}, pop.senders, [])
            for rate in RATES:
                emit = traffic.emit if system == "reddot" else emitter.emit
                if emitter is not None:
                    emitter.users = pop.users[:count]
                lag0 = await server_lag.read(push_url) if system == "reddot" else None
                phase = await run.phase(rate, PHASE_SECONDS, emit, f"{system} {count} @{rate}/s")
                if system == "reddot":
                    lat = traffic.latencies([(s.uid, *r) for s in phase.seens for r in s.rises])
                else:
                    lat = [x for s in phase.seens for x in s.latencies]
                out["phases"][f"{count}@{rate}"] = summary(phase, lat)
                if lag0 is not None:
                    lag = server_lag.p99_ms(lag0, await server_lag.read(push_url))
                    out["phases"][f"{count}@{rate}"]["server_publish_to_write_p99_ms"] = lag
                if system == "reddot":  # every client's latest values against Redis, after every phase
                    out["drifted"] = out.get("drifted", 0) + check(run.redis_url, phase.seens).drifted
                say(
                    f"push {system} {count}@{rate}: {phase.frames_per_second:.0f} frames/s, "
                    f"{phase.frames_per_cpu_second:.0f} frames/CPU-s, p99 {percentiles(lat)['p99_ms']:.1f} ms"
                )
        await pool.close()
        if emitter is not None:
            await emitter.close()
        return out
    finally:
        run.close()


def _emitter(system: str, redis_url: str, users: list[str]) -> Any:
    if system == "socketio":
        return socketio_peer.Emitter(redis_url, users)
    if system == "bare":
        return bare_forwarder.Emitter(redis_url, users)
    return None


async def fanout(workdir: Path) -> dict[str, Any]:
    """A 5,000-member group, every member online: one message → the last member's frame."""
    run = Run("reddot", workdir / "fanout")
    try:
        run.start_servers(2)
        pop = Population.make(FANOUT_MEMBERS, [FANOUT_MEMBERS], prefix=f"fo{int(time.time()) % 100000}")
        pool = HttpPool(run.urls[0], run.api_key)
        await setup(pool, pop, 0)
        say(f"fan-out: connecting {FANOUT_MEMBERS}")
        await asyncio.to_thread(run.connect, pop.tokens(run.jwt_secret), False, [run.urls[-1]])
        traffic = Traffic(pool, pop, parse_mix("group=1"))
        trials = []
        for _ in range(FANOUT_TRIALS):
            phase = await run.phase(2, 0.55, traffic.emit, "fan-out")  # exactly one message, at 0.5 s
            lat = traffic.latencies([(s.uid, *r) for s in phase.seens for r in s.rises])
            trials.append(
                {
                    "members_reached": len(lat),
                    "last_ms": max(lat) * 1000 if lat else None,
                    "p50_ms": percentiles(lat)["p50_ms"],
                    "drifted": check(run.redis_url, phase.seens).drifted,
                }
            )
            await asyncio.sleep(0.5)
        await pool.close()
        return {"trials": trials, "last_ms": sorted(t["last_ms"] or 1e9 for t in trials)[len(trials) // 2]}
    finally:
        run.close()


async def clean_all(workdir: Path) -> dict[str, Any]:
    """A user with 10,000 unread conversations cleans them all at once: latency and SLOWLOG."""
    run = Run("reddot", workdir / "clean")
    try:
        run.start_servers(1)
        uid = f"cl{int(time.time()) % 100000}"
        pool = HttpPool(run.urls[0], run.api_key)
        for i in range(0, CLEAN_CONVERSATIONS, 1000):
            batch = [{"id": f"m{j}", "from": f"{uid}-s{j}", "to": uid, "timestamp": 1} for j in range(i, i + 1000)]
            await pool.request("POST", "/v1/messages", {"messages": batch})
        await asyncio.to_thread(run.connect, [(uid, Population([uid], {}, [], []).tokens(run.jwt_secret)[0][1])])
        with Redis.from_url(run.redis_url) as redis:
            # 1 ms, not 0: logging every command (those inside functions too) would slow the run it measures.
            redis.config_set("slowlog-log-slower-than", 1000)
            redis.config_set("slowlog-max-len", 1000)
            redis.slowlog_reset()
            cpu0, started = cpu_seconds(redis.info("cpu")), time.perf_counter()
            reply = await pool.request("POST", f"/v1/users/{uid}/clean", {"conversation": ""})
            took, cpu = time.perf_counter() - started, cpu_seconds(redis.info("cpu")) - cpu0
            entries = redis.slowlog_get(1000)
            redis.config_set("slowlog-log-slower-than", 10_000)
        await pool.close()
        say("clean-all: the floor of this Valkey (the commands an exact clean needs)")
        floor = await clean_floor.measure(run.redis_url, CLEAN_CONVERSATIONS)
        longest: dict[str, Any] = max(entries, key=lambda e: e["duration"], default={"duration": 0, "command": "-"})
        return {"conversations": CLEAN_CONVERSATIONS, "cleaned": reply["cleaned"], "latency_ms": took * 1000,
                "valkey_cpu_ms": cpu * 1000, "longest_call_ms": longest["duration"] / 1000,
                "longest_command": str(longest["command"])[:80], "calls": len(entries), "floor": floor}  # fmt: skip
    finally:
        run.close()


async def suite(out: Path) -> dict[str, Any]:
    """Every scenario, one after the other (they share the two cores, never run at once)."""
    started = time.monotonic()
    results: dict[str, Any] = {"machine": _machine()}
    for name, scenario in (("ingest", ingest), ("clean_all", clean_all), ("fanout", fanout)):
        say(name)
        results[name] = await scenario(out)
        say(f"{name}: {json.dumps(results[name])[:300]}")
    results["push"] = {}
    for system in ("reddot", "bare", "socketio"):
        results["push"][system] = await push(system, out)
    results["seconds"] = time.monotonic() - started
    return results


def _machine() -> dict[str, Any]:
    import os
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def main() -> int:
    """Run the suite, keep the raw results, write docs/benchmarks.md and the plots."""
    import uvloop

    OUT.mkdir(exist_ok=True)
    results = uvloop.run(suite(OUT))
    (OUT / "bench.json").write_text(json.dumps(results, indent=1) + "\n")
    write(results, Path("docs"))
    say(f"done in {results['seconds']:.0f} s: docs/benchmarks.md, docs/img/*.png, {OUT / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
