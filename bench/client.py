"""``python -m bench.client``: the browser's envelope crypto in headless Chromium — sizes and times.

The modules under static/js are served as they are (no Django needed) on 127.0.0.1, a secure context, and driven
with Playwright: envelope sizes, encrypt+sign and verify+decrypt, and decrypting a page of 50 and a history of
1 000 (crypto only). Then the real app (``bench.history_ui``) opens a room of 1 000 messages in the chat page and
times them decrypted and shown. Prints a table and writes bench-results/client.json. A command that prints figures,
never a test.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.history_ui import measure_shown

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
CHROMIUM = "/usr/bin/chromium"
ROOM_SIZES = (1, 10, 50, 100, 256)
TARGETS = {"bytes_per_member": 60, "seal_100_ms": 15, "history_1000_ms": 1500}
CHROMIUM_ARGS = ["--disable-gpu", "--no-first-run", "--disable-background-networking"]

# Runs in the page: keys, envelopes and timings, all with the real modules.
MEASURE = """async ({sizes, runs, historySize}) => {
  const c = await import("/js/crypto/index.js");
  const subtle = crypto.subtle;
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const signing = await subtle.generateKey("Ed25519", false, ["sign", "verify"]);
  const signingPub = c.toBase64(new Uint8Array(await subtle.exportKey("raw", signing.publicKey)));
  const members = [];
  for (let id = 1; id <= Math.max(...sizes); id++) {
    const pair = await subtle.generateKey("X25519", false, ["deriveBits"]);
    members.push({id, pair, pub: c.toBase64(new Uint8Array(await subtle.exportKey("raw", pair.publicKey)))});
  }
  const room = crypto.randomUUID();
  const text = "A message of ordinary length, about as long as a sentence or two in a chat.";
  const seal = (n) => c.sealEnvelope({room, senderId: 1, clientId: crypto.randomUUID(), sentAt: Date.now(), text,
    recipients: members.slice(0, n).map((m) => ({id: m.id, agreementPublicKey: m.pub})),
    signingPrivateKey: signing.privateKey});
  const open = (env) => c.openEnvelope(env, {myId: 1, agreementPrivateKey: members[0].pair.privateKey,
    senderSigningPublicKey: signingPub, expectedRoom: room, expectedSender: 1});
  const rows = [];
  for (const n of sizes) {
    await seal(n);  // warm-up
    const sealMs = [], openMs = [];
    let env;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now(); env = await seal(n); sealMs.push(performance.now() - t0);
      const t1 = performance.now(); await open(env); openMs.push(performance.now() - t1);
    }
    rows.push({members: n, bytes: JSON.stringify(env).length, seal_ms: median(sealMs), open_ms: median(openMs)});
  }
  const history = [];
  for (let i = 0; i < historySize; i++) history.push(await seal(2));
  const t0 = performance.now();
  for (const env of history.slice(-50)) await open(env);
  const page50 = performance.now() - t0;
  const t1 = performance.now();
  for (const env of history) await open(env);
  const all = performance.now() - t1;
  return {rows, page_50_ms: page50, history_ms: all, history_size: historySize};
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def log_message(self, format: str, *args: object) -> None:
        """The table is the output; a line per module request is noise."""


@contextmanager
def static_server() -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(STATIC))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def measure(runs: int, history_size: int, shown_runs: int) -> dict:
    with static_server() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/img/icon.svg")  # any page of this origin: a secure context
        result = page.evaluate(MEASURE, {"sizes": list(ROOM_SIZES), "runs": runs, "historySize": history_size})
        page.close()
        result["chromium"] = browser.version
        if shown_runs:
            result["shown"] = measure_shown(browser, history_size, shown_runs)
        browser.close()
    one = next(row for row in result["rows"] if row["members"] == 1)
    for row in result["rows"]:
        extra = row["members"] - 1
        row["bytes_per_member"] = round((row["bytes"] - one["bytes"]) / extra, 1) if extra else None
    return result


def table(result: dict) -> str:
    lines = [
        f"Chromium {result['chromium']}; medians of the runs.",
        "",
        "| members | envelope bytes | bytes per extra member | encrypt+sign ms | verify+decrypt ms |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        per = "-" if row["bytes_per_member"] is None else f"{row['bytes_per_member']:.1f}"
        lines.append(f"| {row['members']} | {row['bytes']:,} | {per} | {row['seal_ms']:.1f} | {row['open_ms']:.1f} |")
    by_size = {row["members"]: row for row in result["rows"]}
    size = result["history_size"]
    checks = [
        ("bytes per member (100)", by_size[100]["bytes_per_member"], TARGETS["bytes_per_member"], ""),
        ("encrypt+sign, 100 members", by_size[100]["seal_ms"], TARGETS["seal_100_ms"], " ms"),
        (f"decrypt {size} messages (crypto only)", result["history_ms"], TARGETS["history_1000_ms"], " ms"),
    ]
    shown = result.get("shown") or {}

    def in_page(key: str) -> str:
        return "-" if shown.get(key) is None else f"{shown[key]:.0f}"

    lines += [
        "",
        "| history | crypto only (decrypt) ms | in the chat page: decrypted and shown ms |",
        "|---|---|---|",
        f"| first page (50) | {result['page_50_ms']:.0f} | {in_page('first_page_shown_ms')} |",
        f"| each older page (50), median | - | {in_page('older_page_ms')} |",
        f"| all {size:,} | {result['history_ms']:.0f} | {in_page('history_shown_ms')} |",
    ]
    if shown:
        checks.append(
            (f"{size} messages decrypted and shown", shown["history_shown_ms"], TARGETS["history_1000_ms"], " ms")
        )
        lines += [
            "",
            f"In the chat page: medians of {len(shown['runs'])} openings, each showing {shown['shown']:,} messages: "
            f"the first {shown['first_page_size']}, then {shown['older_pages']} older pages.",
        ]
    lines += ["", "| target | measured | limit | met |", "|---|---|---|---|"]
    lines += [f"| {name} | {value:.1f}{unit} | ≤ {limit}{unit} | {'yes' if value <= limit else 'NO'} |" for name, value,
              limit, unit in checks]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.client", description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument(
        "--shown-runs", type=int, default=5, help="openings of the room in the chat page (0: crypto only, no app)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "client.json")
    options = parser.parse_args()
    result = measure(options.runs, options.history, options.shown_runs)
    print(table(result))
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(result, indent=2))
    print(f"\nJSON: {options.out}")


if __name__ == "__main__":
    main()
