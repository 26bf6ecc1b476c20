"""Fixtures for the error-signature tests: real exceptions raised from code written to a temp source root."""

from __future__ import annotations

import importlib.util
import itertools
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

_counter = itertools.count()

LoadModule = Callable[..., ModuleType]
Capture = Callable[..., str]


@pytest.fixture
def load_module(tmp_path: Path) -> LoadModule:
    """`load_module(relative, source, shift=0, root=tmp_path)`: write the source after `shift` comment
    lines (so every line number moves) and import it under a fresh name."""

    def load(relative: str, source: str, shift: int = 0, root: Path | None = None) -> ModuleType:
        path = (root or tmp_path) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# shifted\n" * shift + source)
        spec = importlib.util.spec_from_file_location(f"errors_test_module_{next(_counter)}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def capture() -> Capture:
    """`capture(call, *args)`: the `traceback.format_exc()` text of what `call(*args)` raises."""

    def run(call: Callable[..., Any], *args: Any) -> str:
        try:
            call(*args)
        except BaseException:  # noqa: BLE001 - the test wants whatever is raised
            return traceback.format_exc()
        raise AssertionError(f"{call!r} did not raise")

    return run
