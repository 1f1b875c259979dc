"""The shipped deployment trusts its own nginx and nobody else to say where a request came from.

The behaviour through real daphne is in tests/hardening/test_client_address.py; these pin the files it is built from.
"""

import ipaddress

import yaml

from tests.nginx_like import header_rules
from tests.servers import ROOT, daphne_command

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_no_daphne_command_believes_forwarded_headers_itself() -> None:
    """daphne's ``--proxy-headers`` takes the left-most X-Forwarded-For entry, which the client writes."""
    commands = {
        "Dockerfile": (ROOT / "Dockerfile").read_text(),
        "Makefile": (ROOT / "Makefile").read_text(),
        **{f"compose {name}": " ".join(service.get("command", [])) for name, service in COMPOSE["services"].items()},
        "tests/servers.py": " ".join(daphne_command(8000)),
    }
    assert [name for name, text in commands.items() if "--proxy-headers" in text] == []


def test_nginx_replaces_the_forwarded_address_and_says_the_host_and_scheme() -> None:
    rules = {name.lower(): value for name, value in header_rules()}
    assert rules["x-forwarded-for"] == "$remote_addr"  # replaced, never appended to what the client sent
    assert rules["x-forwarded-proto"] == "$scheme"
    assert rules["host"] == "$http_host"  # the origin check compares the socket's Origin with it


def test_compose_trusts_the_network_nginx_is_on_and_no_wider() -> None:
    [subnet] = [config["subnet"] for config in COMPOSE["networks"]["default"]["ipam"]["config"]]
    assert "networks" not in COMPOSE["services"]["proxy"], "nginx is on the default network"
    trusted = COMPOSE["services"]["web"]["environment"]["TRUSTED_PROXIES"].split(",")
    assert [ipaddress.ip_network(value) for value in trusted] == [ipaddress.ip_network(subnet)]
