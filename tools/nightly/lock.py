"""One nightly run at a time: a non-blocking `flock` on `data_dir/nightly.lock`.

The kernel drops the lock when its process ends, however it ends, so a crashed run never blocks the
next night. The holder writes its pid, start time and run id into the file, so a refused run can say
who holds the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCK_FILE = "nightly.lock"


class LockedOut(RuntimeError):
    """Another run holds the lock; `holder` is what it wrote into the lock file (may be empty)."""

    def __init__(self, path: Path, holder: dict[str, Any]):
        self.path = path
        self.holder = holder
        who = f"pid {holder.get('pid', '?')} since {holder.get('started_at', '?')}"
        if holder.get("run_id") is not None:
            who += f" (run #{holder['run_id']})"
        super().__init__(
            f"another nightly run holds {path}: {who}. Wait for it to finish; a run that died releases the "
            "lock by itself"
        )


@dataclass
class NightlyLock:
    """`acquire()` or raise LockedOut; `release()` (or process exit) frees it."""

    path: Path
    _fd: int | None = None
    _holder: dict[str, Any] | None = None

    @classmethod
    def in_dir(cls, data_dir: Path) -> NightlyLock:
        return cls(Path(data_dir) / LOCK_FILE)

    def acquire(self, started_at: str) -> None:
        """Take the lock or raise LockedOut; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockedOut(self.path, holder) from None
        self._fd = fd
        self._holder = {"pid": os.getpid(), "started_at": started_at}
        self.describe()

    def describe(self, **more: Any) -> None:
        """Write who holds the lock into the file (pid, start time, and e.g. the run id)."""
        if self._fd is None or self._holder is None:
            return
        self._holder |= more
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(self._holder).encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> NightlyLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        data = json.loads(raw.decode() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
