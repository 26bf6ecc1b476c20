"""A throwaway PostgreSQL cluster for the tests: Debian's binaries, a temp dir, a free loopback port.

initdb refuses to run as root, so under root (CI) the cluster belongs to the `postgres` system user that
Debian's package creates. A missing server is a loud skip locally and a failure in CI (CI=true), where
`.ci/run` installs the `postgresql` package.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from local_ports import free_port

INSTALL_HINT = "install PostgreSQL's server binaries: `sudo apt-get install postgresql` (Debian/Ubuntu)"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PgServer:
    port: int
    superuser: str
    workdir: Path

    def url(self, user: str | None = None, password: str | None = None, db: str = "postgres") -> str:
        auth = user or self.superuser
        if password:
            auth += f":{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def execute(self, sql: str, db: str = "postgres", params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(db=db), autocommit=True) as conn:
            cur = conn.execute(sql, params or None)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def create_database(self, name: str) -> str:
        self.execute(f'DROP DATABASE IF EXISTS "{name}"')
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(db=name)


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


def start_server() -> tuple[PgServer, subprocess.Popen[bytes] | None, str | None]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL is required in CI: {INSTALL_HINT}")
        pytest.skip(f"no PostgreSQL server here: {INSTALL_HINT}")
    owner = "postgres" if os.geteuid() == 0 else None
    workdir = Path(tempfile.mkdtemp(prefix="si-pg-"))
    data = workdir / "data"
    if owner:
        shutil.chown(workdir, owner)
    os.chmod(workdir, 0o755)
    superuser = owner or os.environ.get("USER") or "postgres"
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                superuser,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            owner,
        ),
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={workdir} -c fsync=off"
    )
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(workdir / "log"),
                "-w",
                "start",
            ],
            owner,
        ),
        check=True,
        capture_output=True,
    )
    server = PgServer(port, superuser, workdir)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.execute("SELECT 1")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return server, None, owner


def stop_server(server: PgServer, owner: str | None) -> None:
    bin_dir = _bin_dir()
    if bin_dir is not None:
        subprocess.run(
            _as_owner(
                [str(bin_dir / "pg_ctl"), "-D", str(server.workdir / "data"), "-m", "immediate", "stop"],
                owner,
            ),
            capture_output=True,
        )
    shutil.rmtree(server.workdir, ignore_errors=True)
