"""ruff and mypy run as part of the test command (pyproject.toml configures both: ruff over
``src`` and ``tests``, mypy with django-stubs over the packages it names)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    done = run("ruff", "check", "--no-cache", "src", "tests")
    assert done.returncode == 0, f"ruff check src tests:\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing():
    done = run("mypy")
    assert done.returncode == 0, f"mypy:\n{done.stdout}{done.stderr}"
