"""Red team 19 (not a test: a timing demonstration). Many addresses, each within its 120 log-ins a minute, queue
Argon2 hashes in a worker's one-thread pool (right log-ins to the attacker's own account: the guard takes each back,
so only the 120 a minute per address bounds them) faster than it drains them; the queue has no bound, so an honest log-in
waits behind all of them. Run: DATABASE_URL=... REDIS_URL=... python -m tests.hardening.redteam19_hash_queue

daphne runs as behind the deployment's proxy (TRUSTED_PROXIES=127.0.0.1); each attacker thread is one address
(X-Forwarded-For, as nginx would set it). Prints an honest log-in's latency before and during the flood."""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ADDRESSES = int(os.environ.get("ADDRESSES", "16"))
SECONDS = float(os.environ.get("SECONDS", "15"))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securechat.settings")
    import django

    django.setup()
    from tests.servers import collect_static, daphne, server_env

    logs = Path(tempfile.mkdtemp())
    static_root = logs / "static"
    static_root.mkdir()
    collect_static(static_root)
    env = server_env(static_root, TRUSTED_PROXIES="127.0.0.1", PRELOGIN_PER_ADDRESS_PER_MINUTE="120")
    with daphne(env, logs, "hash-queue") as server:
        with urllib.request.urlopen(f"{server.url}/") as page:
            token = [c.split(";")[0].split("=", 1)[1] for c in page.headers.get_all("Set-Cookie") if c.startswith("csrftoken=")][0]

        from accounts.tests.factories import signup_body

        name = f"flooder{os.urandom(4).hex()}"
        own_key = os.urandom(32)  # the attacker's own account: right log-ins are never counted by the guard

        def login(address: str, path: str = "login", fields: dict | None = None) -> tuple[int, float]:
            fields = fields or {"username": f"nobody-{address}", "auth_key": base64.b64encode(os.urandom(32)).decode()}
            body = json.dumps(fields)
            request = urllib.request.Request(
                f"{server.url}/api/accounts/{path}", data=body.encode(), method="POST",
                headers={"Content-Type": "application/json", "X-Forwarded-For": address, "Origin": server.url,
                         "Cookie": f"csrftoken={token}", "X-CSRFToken": token},
            )
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=600) as answer:
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
            return status, time.monotonic() - started

        print("sign-up of the attacker's account:", login("192.0.2.99", "signup", signup_body(name, with_auth_key=own_key)))
        own = {"username": name, "auth_key": base64.b64encode(own_key).decode()}
        print("honest log-in, quiet:", login("192.0.2.200"))
        stop = time.monotonic() + SECONDS

        def attacker(index: int) -> None:
            address = f"198.51.100.{index + 1}"
            while time.monotonic() < stop:
                threading.Thread(target=login, args=(address, "login", own), daemon=True).start()
                time.sleep(0.5)  # 120 a minute: within the per-address limit

        for index in range(ADDRESSES):
            threading.Thread(target=attacker, args=(index,), daemon=True).start()
        time.sleep(SECONDS)
        print(f"honest log-in after {SECONDS:.0f} s of {ADDRESSES} addresses at 2/s:", login("192.0.2.201"))


if __name__ == "__main__":
    sys.exit(main())
