"""The layers of DESIGN.md ("How a capability plugs in"), enforced by import-linter's contracts
in pyproject.toml: the kernel knows no app, each app imports only the apps below it, and no
app imports the demo data. Run here so that the test command breaks when a layer is crossed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports() -> str:
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert found, "lint-imports is not installed: pip install -e '.[test]'"
    return found


def test_import_linter_contracts_are_kept():
    result = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"import-linter found a crossed layer:\n{output}"
    # Every contract ran (a contract dropped from the configuration must not pass silently).
    for name in ("The kernel knows no app", "No app imports the demo data", "core below grid below people"):
        assert name in output and "KEPT" in output.split(name, 1)[1].splitlines()[0], output
