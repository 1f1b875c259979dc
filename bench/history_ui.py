"""History as the user sees it: the real app, a room with 1 000 real envelopes, timed until they are on screen.

Part of ``python -m bench.client``. It starts the app as ``make run`` does, on the embedded defaults (daphne with
DEBUG off, SQLite in a temporary DATA_DIR, the in-memory channel layer), signs up two people in Chromium through the
sign-up page, has one create a room and add the other, and has both send messages through the page's own chat
client (sealed by the real envelope code, sent over the socket, stored by the server) until the room holds
``history_size``. The send throttle is lifted for this server only, as ``bench.relay`` does: it would otherwise
hold each user to 120 a minute.

Then, ``runs`` times, the reader loads /rooms/ afresh (nothing decrypted, nothing rendered; their keys and pins
stay in IndexedDB, as for anyone coming back) and a script in the page clicks the room's link, then clicks "Load
older messages" each time the page has finished the previous page: the status line ("Loading…", "Decrypting
messages… N of M") is empty again and more messages are in the transcript. Scrolling to the top runs the same code
as the button; this is a user paging back as fast as the page lets them, with no Playwright round trip in between.
The clock runs from the click on the room's link until the first 50, and then all ``history_size`` with the
"This is the beginning of the conversation." note, are in the transcript and the browser has rendered a frame.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from bench.stack import migrate, setup_django

ROOM = "History bench"
TEXT = "A message of ordinary length, about as long as a sentence or two in a chat. Number {n}."
# Sends in flight at once from each sender's page: the writer stores what queued together in one commit.
SEND_BATCH = 25
OPEN_TIMEOUT_MS = 120_000

# Runs in the sender's page: ``count`` messages through the page's chat client, a batch at a time.
SEND = """async ({roomId, first, count, text, batch}) => {
  const client = window.securechat.client;
  for (let start = 0; start < count; start += batch) {
    const sends = [];
    for (let n = first + start; n < first + Math.min(count, start + batch); n++) {
      sends.push(client.send(roomId, text.replace("{n}", String(n))));
    }
    await Promise.all(sends);
  }
}"""

# Runs in the reader's freshly loaded /rooms/ page: open the room, page back to its beginning, time it.
OPEN = """async ({name, total, timeoutMs}) => {
  const $ = (id) => document.getElementById(id);
  const status = $("history-status"), transcript = $("transcript"), older = $("load-older");
  const shown = () => transcript.querySelectorAll("article.message").length;
  // How many times the status line said "Decrypting messages… N of M" (the progress the page shows meanwhile).
  let progress = 0;
  const watch = new MutationObserver(() => {
    if (/^Decrypting messages… \\d+ of \\d+$/.test(status.textContent)) progress++;
  });
  watch.observe(status, {childList: true, characterData: true, subtree: true});
  // A task after the microtasks queued now: the page's own continuations (its "loading" flags) have run.
  const channel = new MessageChannel();
  const drained = () => new Promise((resolve) => {
    channel.port1.onmessage = resolve;
    channel.port2.postMessage(null);
  });
  // Resolves once the status line is empty and ``done()`` holds, still after the page's pending continuations:
  // the page has finished what the last click started.
  const until = (done) => new Promise((resolve, reject) => {
    const ready = () => status.textContent === "" && done();
    const check = async () => {
      if (!ready()) return;
      await drained();
      if (!ready()) return;
      observer.disconnect();
      clearTimeout(timer);
      resolve();
    };
    const observer = new MutationObserver(check);
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`stuck: "${status.textContent}", ${shown()} shown`));
    }, timeoutMs);
    const what = {childList: true, characterData: true, subtree: true};
    for (const node of [status, transcript]) observer.observe(node, what);
    check();
  });
  // A frame rendered after the DOM changed: what is in the DOM is now on screen.
  const painted = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  const link = [...$("room-list").querySelectorAll("a")].find((a) => a.textContent === name);
  if (!link) throw new Error(`no room link ${name}`);
  const t0 = performance.now();
  link.click();
  await until(() => shown() >= Math.min(total, 50));
  await painted();
  const first = performance.now() - t0;
  const firstShown = shown();
  const pages = [];
  while (!older.hidden) {
    const t = performance.now(), before = shown();
    older.click();
    await until(() => shown() > before);
    pages.push(performance.now() - t);
  }
  await painted();
  const all = performance.now() - t0;
  watch.disconnect();
  const note = transcript.querySelector(".transcript-note");
  return {first_ms: first, first_shown: firstShown, all_ms: all, shown: shown(), pages_ms: pages,
          failed: transcript.querySelectorAll("article.failed").length, note: note ? note.textContent : null,
          progress_shown: progress};
}"""


@contextmanager
def embedded_app() -> Iterator[str]:
    """The app on the embedded defaults (SQLite, in-memory layer) in a temporary DATA_DIR; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="securechat-bench-client-") as data_dir:
        for name in ("DATABASE_URL", "REDIS_URL", "STATIC_ROOT", "SECRET_KEY", "CACHE_KEY_PREFIX"):
            os.environ.pop(name, None)
        # This process reads the settings the server will (tests/servers.py takes them from Django's). Playwright's
        # sync API runs an event loop in this thread; migrating here is still synchronous and safe (as in
        # tests/browser/conftest.py); server_env leaves the flag out of the server's environment.
        os.environ.update(
            DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="securechat.settings", DJANGO_ALLOW_ASYNC_UNSAFE="true"
        )
        setup_django(os.environ)
        migrate()
        from django.db import connections

        from tests.servers import collect_static, daphne, server_env

        connections.close_all()
        static_root = Path(data_dir) / "static"
        collect_static(static_root)
        env = server_env(static_root, SEND_RATE_PER_MINUTE=str(10**9))
        with daphne(env, Path(data_dir)) as server:
            yield server.url


@contextmanager
def history_room(browser: Browser, history_size: int) -> Iterator[tuple[Page, str]]:
    """A reader and a writer, signed up, in a room holding ``history_size`` messages; yields the reader's page."""
    from tests.browser.accounts import sign_up, unique_username
    from tests.browser.chat import (
        EXPECT_TIMEOUT_MS,
        PASSWORD,
        PLAYWRIGHT_EXPECT_TIMEOUT_MS,
        Person,
        add_member,
        create_room,
        expect_connected,
    )

    with embedded_app() as base:
        people = []
        expect.set_options(timeout=EXPECT_TIMEOUT_MS)  # as the browser tests: a shared machine can be slow
        try:
            for prefix in ("reader", "writer"):
                context = browser.new_context()
                person = Person(unique_username(prefix), context, context.new_page(), base)
                people.append(person)
                sign_up(person.page, base, person.username, PASSWORD)
                expect(person.page).to_have_url(f"{base}/rooms/")
                person.page.wait_for_load_state()
            reader, writer = people
            expect_connected(reader.page)
            room_id = create_room(reader, ROOM)
            add_member(reader, writer.username)
            # Both send at once, half each: the history alternates between "You" and the other, as a chat does.
            half = history_size // 2
            for person, first, count in ((reader, 1, half), (writer, half + 1, history_size - half)):
                person.page.goto(f"{base}/rooms/")  # no room open: nothing is rendered while sending
                expect_connected(person.page)
                args = {"roomId": room_id, "first": first, "count": count, "text": TEXT, "batch": SEND_BATCH}
                person.page.evaluate(f"(args) => {{ window.benchSent = ({SEND})(args); }}", args)
            for person in people:
                person.page.evaluate("() => window.benchSent")
            yield reader.page, base
        finally:
            expect.set_options(timeout=PLAYWRIGHT_EXPECT_TIMEOUT_MS)
            for person in people:
                person.context.close()


def open_history(page: Page, base: str, history_size: int) -> dict:
    """Load /rooms/ afresh and open the room to its beginning, timed in the page (``OPEN``)."""
    from tests.browser.chat import expect_connected, rooms_nav

    page.goto(f"{base}/rooms/")
    expect_connected(page)
    expect(rooms_nav(page).get_by_role("link", name=ROOM, exact=True)).to_be_visible()
    run = page.evaluate(OPEN, {"name": ROOM, "total": history_size, "timeoutMs": OPEN_TIMEOUT_MS})
    if run["shown"] != history_size or run["failed"] or run["note"] != "This is the beginning of the conversation.":
        raise RuntimeError(f"the room showed {run['shown']} messages ({run['failed']} failed), not {history_size}")
    return run


def measure_shown(browser: Browser, history_size: int, runs: int) -> dict:
    """Open a room of ``history_size`` messages ``runs`` times through the real UI; timings in ms."""
    from tests.browser.chat import transcript_texts

    with history_room(browser, history_size) as (page, base):
        opened = [open_history(page, base, history_size) for _ in range(runs)]
        expected = sorted(TEXT.replace("{n}", str(n)) for n in range(1, history_size + 1))
        if sorted(transcript_texts(page)) != expected:
            raise RuntimeError("the transcript does not show exactly the messages sent, each once")
    pages = [ms for run in opened for ms in run["pages_ms"]]
    return {
        "history_size": history_size,
        "runs": opened,
        "first_page_shown_ms": statistics.median(run["first_ms"] for run in opened),
        "first_page_size": opened[0]["first_shown"],
        "history_shown_ms": statistics.median(run["all_ms"] for run in opened),
        "older_page_ms": statistics.median(pages) if pages else None,
        "older_pages": len(opened[0]["pages_ms"]),
        "shown": opened[0]["shown"],
    }
