"""Progress of a nightly run on stderr: one line per step, and a ticking line while the agent runs.

stdout stays free for the one-line result, so `self-improver nightly` can be piped or scheduled.
"""

from __future__ import annotations

import sys
from typing import TextIO

from .models import StepResult

AGENT_LINE_EVERY = 60.0


class NightlyConsole:
    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self._last_agent_line = 0.0

    def step(self, index: int, total: int, title: str, result: StepResult | None) -> None:
        prefix = f"nightly [{index}/{total}] {title}"
        if result is None:
            if self.interactive:
                self.stream.write(f"{prefix} ...")
                self.stream.flush()
            return
        line = f"{prefix}: {result.status} ({result.seconds:.1f} s) - {result.detail}"
        self.stream.write(("\r\033[K" if self.interactive else "") + line + "\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        self.stream.write(f"nightly: {message}\n")
        self.stream.flush()

    def agent(self, elapsed: float, limit: float) -> None:
        line = f"nightly agent: running {elapsed:.0f} s of {limit:.0f} s allowed"
        if self.interactive:
            self.stream.write(f"\r\033[K{line}")
            self.stream.flush()
        elif elapsed - self._last_agent_line >= AGENT_LINE_EVERY:
            self._last_agent_line = elapsed
            self.stream.write(line + "\n")
            self.stream.flush()

    def agent_done(self) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")
            self.stream.flush()
