"""The real clamd for tests, started by ``scripts/clamd.sh`` (installs clamav-daemon if needed).

Import the fixtures into a test module: ``from tests.clamd_fixtures import clamd_socket``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "clamd.sh"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def clamd(command: str, run_dir: Path | None = None) -> str:
    """Run ``scripts/clamd.sh command [run_dir]``; return the socket path it prints."""
    args = [str(SCRIPT), command] + ([str(run_dir)] if run_dir else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout.strip()


@pytest.fixture(scope="session")
def clamd_socket() -> str:
    """The project's shared clamd (``.run/clamd``); left running for the next session."""
    return clamd("start")


@pytest.fixture
def private_clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A clamd of this test's own, which the test may stop; stopped afterwards regardless."""
    run_dir = tmp_path_factory.mktemp("clamd")
    socket_path = clamd("start", run_dir)
    yield run_dir, socket_path
    clamd("stop", run_dir)
