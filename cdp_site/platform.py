"""The two commands of the README: ``run`` the whole platform, ``test`` the whole suite.

    python -m cdp_site.platform run    # `make run`
    python -m cdp_site.platform test   # `make test`

Both use ``DATABASE_URL`` / ``REDIS_URL`` when set; otherwise they start embedded servers
(``cdp_site.embedded``) and stop them again on the way out, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from cdp_site import embedded

ROOT = embedded.REPOSITORY_ROOT
PYTHON = sys.executable
CHROMIUM = Path("/usr/bin/chromium")


@contextlib.contextmanager
def servers() -> Iterator[dict[str, str]]:
    """Yields the environment that points every process at PostgreSQL and Redis."""
    environment = dict(os.environ)
    # Procfile lines say `python`: make that the virtualenv's interpreter.
    environment["PATH"] = f"{Path(PYTHON).parent}{os.pathsep}{environment.get('PATH', '')}"
    started_postgres = started_redis = None
    try:
        if not environment.get("DATABASE_URL"):
            started_postgres = embedded.postgres_start()
            environment["DATABASE_URL"] = started_postgres.url
            print(f"• embedded PostgreSQL on 127.0.0.1:{started_postgres.port}", flush=True)
        if not environment.get("REDIS_URL"):
            started_redis = embedded.redis_start()
            environment["REDIS_URL"] = started_redis.url
            print(f"• embedded Redis (AOF on) on 127.0.0.1:{started_redis.port}", flush=True)
        yield environment
    finally:
        if started_redis is not None:
            embedded.redis_stop(started_redis)
            print("• embedded Redis stopped", flush=True)
        if started_postgres is not None:
            embedded.postgres_stop(started_postgres)
            print("• embedded PostgreSQL stopped", flush=True)


def _manage(environment: dict[str, str], *arguments: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *arguments], check=True, env=environment)


def ensure_chromium() -> None:
    """Browser tests need Debian's Chromium; install it when we can (root with apt-get)."""
    if CHROMIUM.exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("! /usr/bin/chromium is missing and cannot be installed here", flush=True)
        return
    print("• installing Debian's chromium for the browser tests", flush=True)
    quiet = {
        "stdout": subprocess.DEVNULL,
        "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    }
    subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)  # type: ignore[call-overload]  # kwargs dict
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        check=True,
        **quiet,  # type: ignore[call-overload]  # kwargs dict
    )


def command_run(port: int) -> int:
    with servers() as environment:
        environment.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.dev")
        environment["CDP_WEB_PORT"] = str(port)
        embedded.data_folder()  # Celery beat keeps its schedule there
        _manage(environment, "migrate", "--noinput", "-v", "0")
        _manage(environment, "seed_demo")
        print(f"\n  Open http://127.0.0.1:{port}/  (Ctrl-C stops everything)\n", flush=True)
        honcho = subprocess.Popen(
            [PYTHON, "-m", "honcho", "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT)],
            env=environment,
        )
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            # honcho got the same SIGINT (same process group) and is stopping its children.
            return honcho.wait()


def command_test(pytest_arguments: list[str]) -> int:
    ensure_chromium()
    checks = [
        [PYTHON, "-m", "ruff", "check", "."],
        [PYTHON, "-m", "ruff", "format", "--check", "."],
    ]
    for check in checks:
        print(f"• {' '.join(check[2:])}", flush=True)
        if subprocess.run(check, cwd=ROOT).returncode != 0:
            return 1
    with servers() as environment:
        environment["DJANGO_SETTINGS_MODULE"] = "cdp_site.settings.test"
        print("• manage.py check / makemigrations --check", flush=True)
        _manage(environment, "check", "--fail-level", "WARNING")
        _manage(environment, "makemigrations", "--check", "--dry-run", "-v", "0")
        print("• pytest", flush=True)
        # Two workers, one test file each at a time: files share fixtures such as started
        # engine workers, and the suite stays well inside 15 minutes on two cores.
        parallel = ["-n", "2", "--dist", "loadfile"] if not pytest_arguments else []
        return subprocess.run(
            [PYTHON, "-m", "pytest", *parallel, *pytest_arguments], cwd=ROOT, env=environment
        ).returncode


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m cdp_site.platform")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run every process with demo data")
    run.add_argument("--port", type=int, default=int(os.environ.get("CDP_WEB_PORT", "8000")))
    test = commands.add_parser("test", help="lint, checks and the whole test suite")
    test.add_argument("pytest_arguments", nargs=argparse.REMAINDER)
    arguments = parser.parse_args()
    if arguments.command == "run":
        return command_run(arguments.port)
    return command_test(arguments.pytest_arguments)


if __name__ == "__main__":
    sys.exit(main())
