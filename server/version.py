"""The installed package's version: `serverInfo.version` and `self-improver --version`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

PACKAGE = "self-improver"


def package_version() -> str:
    try:
        return version(PACKAGE)
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
