"""`reddot load`: flags, one run, the table and the JSON file; exit status 1 on any drift."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from loadtest.drift import check
from loadtest.drive import Population, Traffic, parse_mix, setup
from loadtest.http import HttpPool
from loadtest.report import MB, load_rows, percentiles, table, write_json
from loadtest.run import Run

DESCRIPTION = (
    "Start (or target) gateways, connect clients, drive a mix of operations at a rate, report throughput, "
    "latency, CPU and memory, and check every client against Redis (docs/load.md)."
)


def _sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `reddot load`."""
    add = parser.add_argument
    add("--gateways", type=int, default=1, help="gateway processes to start (default 1)")
    add(
        "--target",
        action="append",
        default=[],
        metavar="URL",
        help="use a running gateway instead (repeatable); needs --api-key, --jwt-secret and --redis-url",
    )
    add(
        "--target-pid",
        action="append",
        type=int,
        default=[],
        metavar="PID",
        help="pid of a targeted gateway, for its CPU and RSS (repeatable)",
    )
    add("--api-key", help="service key of the targeted gateways")
    add("--jwt-secret", help="HS256 secret of the targeted gateways")
    add("--redis-url", help="Redis of the gateways (default: start an embedded Valkey)")
    add("--clients", type=int, default=1000, help="WebSocket connections, one user each (default 1000)")
    add("--group-sizes", type=_sizes, default=[100], metavar="N,N,…", help="group chats and their sizes")
    add("--conversation-groups", type=int, default=100, metavar="K", help="users given a conversation group")
    add(
        "--mix",
        type=parse_mix,
        default=parse_mix("c2c=70,group=10,clean=10,recall=5,settings=5"),
        help="operation weights: c2c, group, clean, recall, settings (default c2c=70,group=10,clean=10,…)",
    )
    add("--rate", type=float, default=500, help="operations per second (default 500)")
    add("--duration", type=float, default=10, help="seconds of traffic (default 10)")
    add("--no-total", action="store_true", help="clients do not ask for total pushes")
    add(
        "--credentials",
        type=Path,
        default=Path("var/dev-credentials.json"),
        help="with --target: a dev gateway's keys and Redis URL (default var/dev-credentials.json, by make run)",
    )
    add("--json", type=Path, default=Path("bench-out/load.json"), help="result file (default bench-out/load.json)")
    add("--workdir", type=Path, default=Path("bench-out/load"), help="logs and Valkey data")  # fmt: skip


SECRETS = ("api_key", "jwt_secret", "redis_url")  # never written to the result file


def fill_from_dev_credentials(args: argparse.Namespace) -> None:
    """Take what --target lacks from a dev gateway's credentials file, when it is for that gateway."""
    try:
        saved = json.loads(Path(args.credentials).read_text())
    except (OSError, ValueError):
        return
    if saved.get("url", "").rstrip("/") not in [url.rstrip("/") for url in args.target]:
        return
    for name in SECRETS:
        if not getattr(args, name):
            setattr(args, name, saved.get(name))


def public_config(args: argparse.Namespace) -> dict[str, Any]:
    """The run's settings as the result file keeps them: secrets left out."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in SECRETS}


async def load(args: argparse.Namespace) -> dict[str, Any]:
    """Run once; the result as the JSON file holds it."""
    if args.target:
        fill_from_dev_credentials(args)
    run = Run("reddot", args.workdir, args.redis_url)
    try:
        if args.target:
            if not (args.api_key and args.jwt_secret and args.redis_url):
                raise SystemExit(
                    "reddot load: --target needs --api-key, --jwt-secret and --redis-url "
                    f"(or a dev gateway's {args.credentials}, written by `reddot serve --dev`)"
                )
            run.target(args.target, args.target_pid, args.api_key, args.jwt_secret)
        else:
            run.start_servers(args.gateways)
        pop = Population.make(args.clients, args.group_sizes)
        pool = HttpPool(run.urls[0], run.api_key)
        await setup(pool, pop, args.conversation_groups)
        print(f"reddot load: {len(pop.users)} clients connecting", file=sys.stderr)
        clients = await asyncio.to_thread(run.connect, pop.tokens(run.jwt_secret), not args.no_total)
        traffic = Traffic(pool, pop, args.mix)
        phase = await run.phase(args.rate, args.duration, traffic.emit, "load")
        await pool.close()
        drift = check(run.redis_url, phase.seens)
        rises = [(s.uid, *r) for s in phase.seens for r in s.rises]
        use = phase.usage
        usage = {
            "gateway_cpu_s": use.server_cpu, "gateway_cpu_share": use.server_share,
            "gateway_rss_mb": use.server_rss / MB, "redis_cpu_s": use.redis_cpu,
            "redis_cpu_share": use.redis_cpu / phase.seconds if phase.seconds else 0.0,
            "redis_memory_mb": use.redis_memory / MB, "redis_rss_mb": use.redis_rss / MB,
        }  # fmt: skip
        return {
            "config": public_config(args),
            "connections": clients.connected,
            "connect_failures": clients.failed,
            "operations": phase.operations,
            "operations_by_kind": traffic.counts,
            "seconds": phase.seconds,
            "ingest_accepted_per_s": traffic.accepted / phase.seconds,
            "recipient_updates_per_s": traffic.updates / phase.seconds,
            "frames": phase.frames,
            "frames_per_s": phase.frames_per_second,
            "frames_per_gateway_cpu_s": phase.frames_per_cpu_second,
            "latency": percentiles(traffic.latencies(rises)),
            "usage": usage,
            "drift": asdict(drift),
        }
    finally:
        run.close()


def build_parser() -> argparse.ArgumentParser:
    """`reddot load [flags]`."""
    parser = argparse.ArgumentParser(prog="reddot load", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def main(argv: list[str]) -> int:
    """Run, print the table, write the JSON; 1 if any client drifted."""
    import uvloop

    args = build_parser().parse_args(argv)

    result = uvloop.run(load(args))
    print(table(load_rows(result)))
    write_json(args.json, result)
    print(f"written to {args.json}")
    return 1 if result["drift"]["drifted"] or result["connect_failures"] else 0
