"""The benchmark's table (for people) and JSON (for tools and for comparing runs)."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def document(
    results: Sequence[dict[str, Any]], machine: dict[str, Any], settings: dict[str, Any], seconds: float
) -> dict[str, Any]:
    """The whole run; each load result also gets its ratio to the bare relay's saturation in that scenario."""
    relay = {r["scenario"]: r for r in results if r.get("server") == "relay" and "saturation_deliveries_per_s" in r}
    enriched = []
    for result in results:
        result = dict(result)
        if "saturation_deliveries_per_s" in result:
            floor = relay.get(result["scenario"], {}).get("saturation_deliveries_per_s")
            mine = result["saturation_deliveries_per_s"]
            result["ratio_to_relay"] = round(mine / floor, 4) if mine and floor else None
            result["server_cpu_us_per_delivery"] = cpu_per_delivery_us(result["at_saturation"])
        enriched.append(result)
    return {
        "benchmark": "relay",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {**machine, "python": platform.python_version()},
        "settings": settings,
        "seconds": round(seconds, 1),
        "results": enriched,
    }


def write_json(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _latency(step: dict[str, Any] | None) -> str:
    if not step:
        return "-"
    return " / ".join(_num(step[key], 1) for key in ("p50_ms", "p95_ms", "p99_ms"))


def _cpu(step: dict[str, Any] | None, name: str) -> str:
    if not step or name not in step["cpu_percent"]:
        return "-"
    return f"{step['cpu_percent'][name]:.0f}%"


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    return [line, rule, *body]


def cpu_per_delivery_us(step: dict[str, Any] | None) -> float | None:
    """Server CPU per delivery: far less sensitive to a busy machine than the saturation rate itself."""
    if not step or not step["achieved_deliveries_per_s"] or "server" not in step["cpu_percent"]:
        return None
    return round(step["cpu_percent"]["server"] / 100 / step["achieved_deliveries_per_s"] * 1e6, 1)


def server_label(r: dict[str, Any]) -> str:
    return f"app ({r.get('app_server', 'daphne')})" if r["server"] == "app" else "bare relay"


def load_rows(results: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for r in results:
        if "saturation_deliveries_per_s" not in r:
            continue
        sat = r["at_saturation"]
        saturation = _num(r["saturation_deliveries_per_s"])
        if not r["saturation_reached"] and sat:
            saturation = f">= {saturation}"
        ratio = r.get("ratio_to_relay")
        if r["server"] == "app":
            persisted = f"{_num(r['stored_in_db'])} / {_num(r['acked'])} / {_num(r['sent'])}"
        else:
            persisted = f"- / - / {_num(r['sent'])}"
        rows.append(
            [
                r["title"],
                server_label(r),
                saturation,
                "-" if ratio is None else f"{ratio:.3f}",
                _latency(r["at_half_saturation"]),
                _cpu(sat, "server"),
                _num(r.get("server_cpu_us_per_delivery")),
                _cpu(sat, "postgres"),
                _cpu(sat, "redis"),
                _cpu(sat, "loadgen"),
                _cpu(sat, "other"),
                f"{r.get('lost_messages_in_good_steps', 0)} / {r['lost_messages']}",
                str(r.get("sockets_closed_by_server", 0)),
                persisted,
                ", ".join(notes(r)) or "-",
            ]
        )
    return rows


NOISY_PERCENT = 25.0
LOADGEN_BOUND_PERCENT = 85.0


def notes(r: dict[str, Any]) -> list[str]:
    """Why a figure may be lower than the server's own limit: a busy machine, or a generator at its limit."""
    found = []
    deciding = [s for s in (r["at_saturation"], r["first_failed"]) if s]
    others = max((s["cpu_percent"].get("other", 0.0) for s in deciding), default=0.0)
    if others >= NOISY_PERCENT:
        found.append(f"noisy: others {others:.0f}%")
    loadgen = max((s["cpu_percent"].get("loadgen", 0.0) for s in deciding), default=0.0)
    if loadgen >= LOADGEN_BOUND_PERCENT:
        found.append(f"load gen at {loadgen:.0f}%: a lower bound")
    if not r["saturation_reached"]:
        found.append("no step failed")
    return found


LOAD_HEADER = (
    "scenario",
    "server",
    "saturation deliveries/s",
    "x relay",
    "p50 / p95 / p99 ms at half",
    "server CPU",
    "server CPU µs/delivery",
    "Postgres CPU",
    "Redis CPU",
    "load gen CPU",
    "others' CPU",
    "lost msgs: good steps / all",
    "sockets dropped",
    "stored / acked / sent",
    "notes",
)


def idle_line(r: dict[str, Any]) -> str:
    return (
        f"{r['sockets']} sockets: RSS {r['rss_before_bytes'] / 2**20:.1f} -> {r['rss_after_bytes'] / 2**20:.1f} MiB,"
        f" {r['bytes_per_socket'] / 1024:.1f} KiB per socket; {r['connects_per_s']:.0f} connects/s;"
        f" idle CPU {r['idle_cpu_percent']:.1f}%; {r['sockets_closed_by_server']} closed by the server"
        f" in {r['idle_seconds']:.0f} s"
    )


def history_line(r: dict[str, Any]) -> str:
    return (
        f"first screen ({50}): cold {r['first_screen_cold_ms']:.1f} ms, median {r['first_screen_median_ms']:.1f} ms;"
        f" all {r['items']} in {r['pages']} pages: cold {r['page_all_cold_ms']:.1f} ms,"
        f" median {r['page_all_median_ms']:.1f} ms ({r['repetitions']} runs)"
    )


def table(doc: dict[str, Any]) -> str:
    machine, settings, results = doc["machine"], doc["settings"], doc["results"]
    lines = [
        f"Machine: {machine['cpu_model']}, {machine['cores']} cores; Python {machine['python']}."
        f" {'Quick run' if settings['quick'] else 'Full run'} in {doc['seconds']:.0f} s.",
    ]
    if settings["pinned"]:
        lines.append(
            f"Servers pinned to core {settings['server_core']} (taskset -c {settings['server_core']};"
            f" {settings.get('app_server', 'daphne')}"
            f" workers: {settings['workers']}), load generator to core {settings['loadgen_core']};"
            " Postgres and Redis unpinned."
        )
    else:
        lines.append("Nothing pinned: servers, load generator, Postgres and Redis share every core.")
    lines.append(
        f"Saturation: the last step with p99 <= {settings['limits']['p99_ms']:.0f} ms and"
        f" >= {100 * settings['limits']['min_delivered']:.0f} % delivered; deliveries = messages received,"
        " summed over receivers. CPU at saturation, % of one core; others' CPU = the rest of the machine"
        " (other people's processes). Lost: sends some member never received at all."
    )
    rows = load_rows(results)
    if rows:
        lines += ["", *_markdown(LOAD_HEADER, rows)]
    idle = [r for r in results if r.get("scenario") == "idle"]
    if idle:
        header = (
            "idle sockets",
            "server",
            "RSS before -> after",
            "per socket",
            "connects/s",
            "idle CPU",
            "dropped while idle",
        )
        idle_rows = [
            [
                str(r["sockets"]),
                server_label(r),
                f"{r['rss_before_bytes'] / 2**20:.1f} -> {r['rss_after_bytes'] / 2**20:.1f} MiB",
                f"{r['bytes_per_socket'] / 1024:.1f} KiB",
                _num(r["connects_per_s"]),
                f"{r['idle_cpu_percent']:.1f}%",
                f"{r['sockets_closed_by_server']} in {r['idle_seconds']:.0f} s",
            ]
            for r in idle
        ]
        lines += ["", *_markdown(header, idle_rows)]
    history = [r for r in results if r.get("scenario") == "history"]
    if history:
        header = ("history", "first screen (50): cold / median", "all pages of 100: cold / median", "pages")
        hist_rows = [
            [
                f"{r['envelopes']} envelopes",
                f"{r['first_screen_cold_ms']:.1f} / {r['first_screen_median_ms']:.1f} ms",
                f"{r['page_all_cold_ms']:.1f} / {r['page_all_median_ms']:.1f} ms",
                str(r["pages"]),
            ]
            for r in history
        ]
        lines += ["", *_markdown(header, hist_rows)]
    return "\n".join(lines)
