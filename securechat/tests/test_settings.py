"""Settings come from the environment, with safe embedded defaults."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLES = re.compile(r"""env\.\w+\(\s*"([A-Z_]+)\"""")

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "chat.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://chat.example.org",
    "HTTPS": "1",
}


def clean_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The environment of a fresh machine: none of the project's variables set."""
    env = {key: value for key, value in os.environ.items() if key not in settings_variables()}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return {**env, "DATA_DIR": str(tmp_path), **variables}


def settings_variables() -> set[str]:
    return set(SETTINGS_VARIABLES.findall((ROOT / "securechat" / "settings.py").read_text()))


def read_settings(env: dict[str, str], *names: str) -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "securechat.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_embedded_defaults_are_a_sqlite_file_and_the_in_memory_layer(tmp_path: Path) -> None:
    values = read_settings(clean_env(tmp_path), "DATABASES", "CHANNEL_LAYERS", "DEBUG")
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASES"]["default"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert values["CHANNEL_LAYERS"]["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert values["DEBUG"] is False


def test_database_url_and_redis_url_select_postgres_and_redis(tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABASE_URL="postgres://u:p@db.internal:5432/chat", REDIS_URL="redis://cache:6379/2")
    values = read_settings(env, "DATABASES", "CHANNEL_LAYERS")
    database = values["DATABASES"]["default"]
    assert (database["ENGINE"], database["HOST"], database["NAME"]) == (
        "django.db.backends.postgresql",
        "db.internal",
        "chat",
    )
    layer = values["CHANNEL_LAYERS"]["default"]
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert layer["CONFIG"]["hosts"][0]["address"] == "redis://cache:6379/2"


def test_generated_secret_key_is_private_and_stable_across_restarts(tmp_path: Path) -> None:
    first = read_settings(clean_env(tmp_path), "SECRET_KEY")["SECRET_KEY"]
    second = read_settings(clean_env(tmp_path), "SECRET_KEY")["SECRET_KEY"]
    assert first == second and len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def run_deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_with_the_production_variables(tmp_path: Path) -> None:
    result = run_deploy_check(clean_env(tmp_path, **PRODUCTION))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_https_is_not_configured(tmp_path: Path) -> None:
    result = run_deploy_check(clean_env(tmp_path, **{**PRODUCTION, "HTTPS": "0"}))
    assert result.returncode != 0
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT


@pytest.mark.parametrize("variable", sorted(settings_variables()))
def test_every_setting_variable_is_documented_in_the_readme(variable: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert re.search(rf"^\| `{variable}` \|", readme, re.MULTILINE), f"{variable} missing from the README table"
