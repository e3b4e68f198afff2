"""A throw-away PostgreSQL cluster for tests: initdb in a temp dir, as an unprivileged user,
on a free loopback port; stopped and deleted afterwards. Used by the pytest fixtures in
tests/conftest.py (`postgres_url`, `store_url`)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")
DB_USER = "deskhand"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here, or the cluster would not start: the reason says which."""


def find_pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl (newest version first), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    for pattern in PG_BIN_GLOBS:
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if (Path(candidate) / "initdb").exists():
                return Path(candidate)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """start() → url; stop() removes everything. Runs as `postgres` (else `nobody`) when we
    are root, since PostgreSQL refuses to run as root; as ourselves otherwise."""

    def __init__(self) -> None:
        self.bin = find_pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="deskhand-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                break

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{DB_USER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        if self.bin is None:
            raise PostgresUnavailable(
                "no PostgreSQL binaries (initdb) found: run scripts/ensure-postgres.sh"
            )
        if os.geteuid() == 0 and self.user is None:
            raise PostgresUnavailable("running as root and no unprivileged user to run as")
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            DB_USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self.url

    def stop(self) -> None:
        if self.bin is not None and (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailable):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        assert self.bin is not None
        done = subprocess.run(
            [str(self.bin / tool), *args],
            user=self.user,
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            log = self.dir / "log"
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{tool} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}{tail}"
            )
