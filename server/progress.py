"""A small progress bar on stderr (stdout may be the MCP protocol or a pipe of results)."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, label: str, width: int = 30, min_interval: float = 0.1):
        self.label = label
        self.width = width
        self.min_interval = min_interval
        self._last = 0.0
        self._shown = False
        self.interactive = sys.stderr.isatty()

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.min_interval:
            return
        self._last = now
        fraction = done / total if total else 1.0
        filled = int(fraction * self.width)
        line = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        if self.interactive:
            sys.stderr.write("\r" + line)
        elif done >= total:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown and self.interactive:
            sys.stderr.write("\n")
            sys.stderr.flush()
