"""Results of a load run: latency percentiles, the terminal table and the JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MB = 1 << 20


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p99, p99.9 and max in milliseconds (nearest rank); zeros when there is nothing."""
    if not samples:
        return {"count": 0, "p50_ms": 0.0, "p99_ms": 0.0, "p999_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"count": len(ordered), "p50_ms": rank(0.5), "p99_ms": rank(0.99), "p999_ms": rank(0.999),
            "max_ms": ordered[-1] * 1000}  # fmt: skip


def table(rows: list[tuple[str, str]]) -> str:
    """Two aligned columns."""
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def load_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """The terminal table of one `reddot load` result."""
    lat, use = result["latency"], result["usage"]
    return [
        ("connections", f"{result['connections']} ({result['connect_failures']} failed)"),
        ("operations", f"{result['operations']} in {result['seconds']:.1f} s  {result['operations_by_kind']}"),
        ("ingest accepted/s", f"{result['ingest_accepted_per_s']:.0f}"),
        ("recipient updates/s", f"{result['recipient_updates_per_s']:.0f}"),
        ("frames received/s", f"{result['frames_per_s']:.0f}"),
        ("publish→frame ms", f"p50 {lat['p50_ms']:.1f}  p99 {lat['p99_ms']:.1f}  p99.9 {lat['p999_ms']:.1f}  "
                             f"max {lat['max_ms']:.1f}  ({lat['count']} samples)"),
        ("gateway CPU", f"{use['gateway_cpu_s']:.1f} s ({use['gateway_cpu_share']:.0%} of a core)"),
        ("gateway RSS", f"{use['gateway_rss_mb']:.0f} MB"),
        ("Redis CPU", f"{use['redis_cpu_s']:.1f} s ({use['redis_cpu_share']:.0%} of a core)"),
        ("Redis memory", f"{use['redis_memory_mb']:.0f} MB used, {use['redis_rss_mb']:.0f} MB RSS"),
        ("drift", f"{result['drift']['drifted']} of {result['drift']['checked']} connections"
                  + (f"  e.g. {result['drift']['examples'][0]}" if result["drift"]["examples"] else "")),
    ]  # fmt: skip


def write_json(path: Path, result: dict[str, Any]) -> None:
    """Write the result, creating the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
