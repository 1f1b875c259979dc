"""Without Chromium the browser tests are skipped with one clear line, except under CI, where that fails."""

import os
import subprocess
import sys

from tests.servers import ROOT


def run_browser_tests(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/browser/test_home.py"],
        cwd=ROOT,
        env={**os.environ, "CHROMIUM": "/nonexistent/chromium", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_browser_tests_are_skipped_with_one_line_saying_why_when_chromium_is_missing() -> None:
    result = run_browser_tests(CI="false")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("browser tests SKIPPED: no Chromium at /nonexistent/chromium") == 1
    assert "3 skipped" in result.stdout  # and none ran


def test_under_ci_a_missing_browser_is_a_failure() -> None:
    result = run_browser_tests(CI="true")
    assert result.returncode != 0
    assert "CI=true but Chromium is missing" in result.stdout + result.stderr
