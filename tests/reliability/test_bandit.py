"""bandit (issue 9): `make test` runs it over the application code and fails on any
high-severity finding. This checks the gate both ways: the code passes, and a file with a
high-severity problem does not."""
from __future__ import annotations

import subprocess  # nosec B404
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GATE = ["-q", "--severity-level", "high"]


def bandit(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bandit", *GATE, "-r", *paths],  # nosec B603
                          cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_application_has_no_high_severity_finding():
    result = bandit("portal", "wsgi.py", "deploy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gate_catches_a_high_severity_finding(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    result = bandit(str(bad))
    assert result.returncode == 1 and "B602" in result.stdout
