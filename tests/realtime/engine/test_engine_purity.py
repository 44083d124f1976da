"""The engine core stays pure: no Django, Redis, Channels, Celery or psycopg, at any depth.

Checked by importing the package in a fresh interpreter and listing what it pulled in, which
also catches imports hidden inside functions that run at import time and indirect imports.
"""

import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = ("django", "redis", "channels", "channels_redis", "celery", "psycopg", "kombu")
ENGINE = Path(__file__).resolve().parents[3] / "realtime" / "engine"


def test_importing_the_engine_loads_no_framework_or_server_client():
    program = (
        "import sys, realtime.engine, realtime.engine.schema\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=ENGINE.parents[1],
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.split()
    offenders = [name for name in loaded if name.split(".")[0] in FORBIDDEN]
    assert offenders == []


@pytest.mark.parametrize("module", sorted(ENGINE.rglob("*.py")), ids=lambda path: path.name)
def test_engine_source_imports_nothing_forbidden(module):
    for number, line in enumerate(module.read_text().splitlines(), start=1):
        words = line.split()
        if len(words) >= 2 and words[0] in ("import", "from"):
            assert words[1].split(".")[0] not in FORBIDDEN, f"{module.name}:{number}: {line}"
