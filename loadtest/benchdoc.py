"""docs/benchmarks.md and its plots, written from the results of the suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SYSTEMS = {"reddot": "reddot", "bare": "bare forwarder", "socketio": "python-socketio"}
BASELINE = "benchmarks-baseline.json"  # docs/: the suite's results before the optimisations
CHANGES = "benchmarks-changes.md"  # docs/: what the optimisations changed, written by hand

# The suite's push grid, here because the report lays its tables and plots out by it.
CONNECTIONS = (10_000, 5_000, 1_000)  # largest first: its RSS is read on a fresh server
RATES = (1_000, 2_500, 5_000)  # changes per second


def _phase(results: dict[str, Any], system: str, key: str) -> dict[str, Any]:
    return dict(results["push"][system]["phases"].get(key, {}))


def targets(r: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every target of the issue."""
    top = f"{max(CONNECTIONS)}@{max(RATES)}"
    red, bare, sio = (_phase(r, s, top) for s in ("reddot", "bare", "socketio"))
    eff = red.get("frames_per_cpu_s", 0)
    mem = {s: r["push"][s].get("rss_per_connection_kb", 0) for s in SYSTEMS}
    ing, fan, clean = r["ingest"], r["fanout"], r["clean_all"]
    failures = r["push"]["reddot"].get("connect_failures", 0)
    drifted = r["push"]["reddot"].get("drifted", 0) + sum(t.get("drifted", 0) for t in fan["trials"])
    return [
        ("ingest: Valkey ≥ 85 % of a core", f"{ing['valkey_cpu_share']:.0%}", ing["valkey_cpu_share"] >= 0.85),
        ("ingest: ≥ 80,000 recipient updates/s", f"{ing['updates_per_s']:,.0f}/s", ing["updates_per_s"] >= 80_000),
        ("push: frames per gateway CPU-s ≥ 2× peer", f"{eff:,.0f} vs {sio.get('frames_per_cpu_s', 0):,.0f} "
         f"({eff / max(sio.get('frames_per_cpu_s', 1), 1):.2f}×)", eff >= 2 * sio.get("frames_per_cpu_s", 1e18)),
        ("push: ≥ 0.9× bare forwarder", f"{eff:,.0f} vs {bare.get('frames_per_cpu_s', 0):,.0f} "
         f"({eff / max(bare.get('frames_per_cpu_s', 1), 1):.2f}×)", eff >= 0.9 * bare.get("frames_per_cpu_s", 1e18)),
        (f"push: p99 ≤ 50 ms at {top.replace('@', ' clients, ')} changes/s",
         f"{red.get('latency', {}).get('p99_ms', 0):.1f} ms from before the POST to receipt; "
         f"{_ms(red.get('server_publish_to_write_p99_ms'))} from publish to written (the gateway's histogram)",
         red.get("latency", {}).get("p99_ms", 1e9) <= 50),
        ("memory: RSS/idle conn ≤ 1.1× bare", f"{mem['reddot']:.1f} KB vs {mem['bare']:.1f} KB",
         mem["reddot"] <= 1.1 * mem["bare"]),
        ("memory: RSS/idle conn ≤ 0.65× peer", f"{mem['reddot']:.1f} KB vs {mem['socketio']:.1f} KB",
         mem["reddot"] <= 0.65 * mem["socketio"]),
        ("fan-out 5,000 online → last frame ≤ 500 ms", f"{fan['last_ms']:.0f} ms (median of {len(fan['trials'])})",
         fan["last_ms"] <= 500),
        ("clean-all 10,000 conversations ≤ 100 ms", f"{clean['latency_ms']:.0f} ms", clean["latency_ms"] <= 100),
        ("clean-all: no call over 10 ms (SLOWLOG)", f"{clean['longest_call_ms']:.1f} ms",
         clean["longest_call_ms"] <= 10),
        ("zero drift in every reddot run", f"{drifted} drifted connections", drifted == 0),
        ("reddot: no failed connection", f"{failures} failed", failures == 0),
    ]  # fmt: skip


def push_table(r: dict[str, Any]) -> list[str]:
    """One row per system, connection count and rate."""
    rows = ["| system | clients @ changes/s | frames/s | frames per server CPU-s | p50 ms | p99 ms | p99.9 ms "
            "| server p99 |", "|---|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for system, name in SYSTEMS.items():
        for key, ph in r["push"][system]["phases"].items():
            lat = ph["latency"]
            rows.append(f"| {name} | {key.replace('@', ' @ ')} | {ph['frames_per_s']:,.0f} | "
                        f"{ph['frames_per_cpu_s']:,.0f} | {lat['p50_ms']:.1f} | {lat['p99_ms']:.1f} | "
                        f"{lat['p999_ms']:.1f} | {_ms(ph.get('server_publish_to_write_p99_ms'))} |")  # fmt: skip
    return rows


def plots(r: dict[str, Any], img: Path) -> None:
    """Latency distribution at the top load, and efficiency against connections."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    top = f"{max(CONNECTIONS)}@{max(RATES)}"
    for system, name in SYSTEMS.items():
        lat = _phase(r, system, top).get("latencies_ms", [])
        if lat:
            ax.plot(lat, [i / len(lat) for i in range(len(lat))], label=name)
    ax.set(xscale="log", xlabel="publish → frame received (ms)", ylabel="fraction of frames",
           title=f"Latency, {top.replace('@', ' clients @ ')} changes/s")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    fig.savefig(img / "latency.png", dpi=100)
    fig, ax = plt.subplots(figsize=(7, 4))
    for system, name in SYSTEMS.items():
        points = sorted((c, _phase(r, system, f"{c}@{max(RATES)}").get("frames_per_cpu_s", 0)) for c in CONNECTIONS)
        ax.plot([c for c, _ in points], [v for _, v in points], marker="o", label=name)
    ax.set(xlabel="connected clients", ylabel="frames per server CPU-second",
           title=f"Push efficiency at {max(RATES)} changes/s")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    fig.savefig(img / "throughput.png", dpi=100)
    plt.close("all")


def _flat(r: dict[str, Any]) -> dict[str, float]:
    top = f"{max(CONNECTIONS)}@{max(RATES)}"
    red = _phase(r, "reddot", top)
    return {
        "ingest recipient updates/s": r["ingest"]["updates_per_s"],
        "ingest updates per Valkey CPU-s": r["ingest"]["updates_per_valkey_cpu_s"],
        f"push frames per CPU-s ({top})": red.get("frames_per_cpu_s", 0),
        f"push p99 ms ({top})": red.get("latency", {}).get("p99_ms", 0),
        "RSS per idle connection KB": r["push"]["reddot"].get("rss_per_connection_kb", 0),
        "fan-out last frame ms": r["fanout"]["last_ms"],
        "clean-all ms": r["clean_all"]["latency_ms"],
        "clean-all longest call ms": r["clean_all"]["longest_call_ms"],
    }


def write(r: dict[str, Any], docs: Path) -> None:
    """Write docs/benchmarks.md and docs/img/{latency,throughput}.png."""
    plots(r, docs / "img")
    ing, fan, clean = r["ingest"], r["fanout"], r["clean_all"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (loadtest/bench.py) on this machine: "
        f"{r['machine']['cpus']} cores shared by everything (servers, Valkey, clients, driver), "
        f"Python {r['machine']['python']}. The suite took {r['seconds']:.0f} s. Raw results: `bench-out/bench.json`.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(r)),
        "",
        "## Ingest",
        "",
        f"A stream of group messages to 1000-member groups through one gateway (nobody online): "
        f"{ing['messages_per_s']:.0f} messages/s = {ing['updates_per_s']:,.0f} recipient updates/s; Valkey at "
        f"{ing['valkey_cpu_share']:.0%} of a core ({ing['updates_per_valkey_cpu_s']:,.0f} updates per Valkey "
        f"CPU-second), the gateway at {ing['gateway_cpu_share']:.0%}.",
        "",
        *_floor(ing),
        "",
        "## Push",
        "",
        "Clients connect with the raw `websockets` client from separate processes; each change is one C2C message "
        "(reddot: `POST /v1/messages` to a second gateway process, so the measured gateway only pushes, as the "
        "peers' servers only push), one `HINCRBY` + `emit` to the user's room (python-socketio, through an external "
        "`AsyncRedisManager(write_only=True)`), or one `PUBLISH` (bare forwarder). Latency: reddot from just before "
        "the HTTP POST that made the change to the receipt of the first frame whose values show it (joined by "
        "unread count); the peers from just before the publish (carried in the frame) to its receipt. Frames per "
        "server CPU-second counts the CPU of the pushing server process only. *server p99*: reddot's own "
        "publish→frame-written histogram (`reddot_publish_to_frame_seconds`, read from the pushing gateway's "
        "/metrics before and after the phase; interpolated inside its buckets), which leaves out the HTTP ingest "
        "hop and the client processes that the client-side latency includes.",
        "",
        *push_table(r),
        "",
        "![latency](img/latency.png)",
        "![throughput](img/throughput.png)",
        "",
        "## Memory, fan-out, clean-all",
        "",
        "RSS per idle connection (RSS growth over the connections, at the largest count, on a fresh server): "
        + ", ".join(f"{SYSTEMS[s]} {r['push'][s].get('rss_per_connection_kb', 0):.1f} KB" for s in SYSTEMS)
        + ".",
        "",
        f"Fan-out: one message to a {5000:,}-member group, every member online: last member's frame after "
        + ", ".join(f"{t['last_ms']:.0f} ms" for t in fan["trials"] if t["last_ms"])
        + " (median "
        f"{fan['last_ms']:.0f} ms).",
        "",
        *_clean(clean),
        "",
        *_before_after(r, docs),
        "## Reproduce",
        "",
        "```",
        "make bench                      # the suite above, about 8 minutes; writes this page",
        "reddot load --help              # one run with your own mix, rate and sizes (docs/load.md)",
        "reddot load --clients 2000 --rate 1000 --duration 20 --group-sizes 100,1000 \\",
        "            --mix c2c=70,group=10,clean=10,recall=5,settings=5 --json bench-out/load.json",
        "```",
        "",
    ]
    (docs / "benchmarks.md").write_text("\n".join(lines))


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms"


def _floor(ing: dict[str, Any]) -> list[str]:
    floor, exact = ing.get("floor"), ing.get("exact_floor")
    if not floor:
        return []
    ratio = ing["updates_per_valkey_cpu_s"] / floor["updates_per_valkey_cpu_s"]
    lines = [
        "The floor of this Valkey, in the same run (loadtest/ingest_floor.py: per recipient one `HINCRBY` and "
        "one `SPUBLISH`, no position set, no dedup, no settings, batched and pipelined like the fan-out, same AOF): "
        f"{floor['updates_per_valkey_cpu_s']:,.0f} updates per Valkey CPU-second ({floor['updates_per_s']:,.0f}/s "
        f"with Valkey at {floor['valkey_cpu_share']:.0%}: that driver is one Python process). reddot's exact "
        f"counting runs at **{ratio:.2f}×** the floor per Valkey CPU-second. 80,000 updates/s on one core would "
        f"need {1e6 / 80_000:.1f} µs per update; reddot spends {1e6 / ing['updates_per_valkey_cpu_s']:.1f} µs, "
        f"the floor {1e6 / floor['updates_per_valkey_cpu_s']:.1f} µs.",
    ]
    if exact:
        lines += [
            "",
            "The floor of exact counting on this data model, same run and driver (`exact`: per recipient the "
            "`HMGET` of its fields, the `ZADD NX` of the position, the `HSET` of count, total and version and the "
            "`SPUBLISH` of the new values; no rules, no tombstone, no cap): "
            f"{exact['updates_per_valkey_cpu_s']:,.0f} updates per Valkey CPU-second, "
            f"{1e6 / exact['updates_per_valkey_cpu_s']:.1f} µs per update. reddot runs at "
            f"**{ing['updates_per_valkey_cpu_s'] / exact['updates_per_valkey_cpu_s']:.2f}×** it. 80,000 updates/s "
            f"needs {1e6 / 80_000:.1f} µs per update, and those four commands alone take "
            f"{1e6 / exact['updates_per_valkey_cpu_s']:.1f} µs.",
        ]
    return lines


def _clean(clean: dict[str, Any]) -> list[str]:
    lines = [
        f"Clean-all: one user with {clean['conversations']:,} unread conversations, `POST /v1/users/{{u}}/clean "
        f'{{"conversation": ""}}`: {clean["latency_ms"]:.0f} ms'
        + (f" (Valkey CPU {clean['valkey_cpu_ms']:.0f} ms)" if "valkey_cpu_ms" in clean else "")
        + f"; the longest single call in SLOWLOG took {clean['longest_call_ms']:.1f} ms "
        f"(`{clean['longest_command'][:60]}…`).",
    ]
    floor = clean.get("floor")
    if floor:
        lines += [
            "",
            "The floor of a clean-all on this data model, same run (loadtest/clean_floor.py: per slice of "
            "conversations one `HMGET` of the counts, a `ZRANGE` per conversation for its top position, one `DEL`, "
            "`HSET` and `HDEL`, one event; no rules, the conversations handed over rather than listed, pipelined "
            f"from one Python client): {floor['latency_ms']:.0f} ms (Valkey CPU {floor['valkey_cpu_ms']:.0f} ms) "
            f"for {floor['cleaned']:,} conversations.",
        ]
    return lines


def _before_after(r: dict[str, Any], docs: Path) -> list[str]:
    baseline = docs / BASELINE
    if not baseline.exists():
        return []
    before, after = _flat(json.loads(baseline.read_text())), _flat(r)
    rows = ["## Optimisations: before and after", "", "| figure | before | after |", "|---|---:|---:|"]
    rows += [f"| {k} | {before[k]:,.1f} | {after[k]:,.1f} |" for k in after if k in before]
    changes = docs / CHANGES
    return [*rows, "", *(changes.read_text().splitlines() if changes.exists() else []), ""]
