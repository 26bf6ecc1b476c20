"""Where nightly reports live and what they are called: `data_dir/reports/nightly-YYYY-MM-DD.md`.

The date is the night's local date in the configured timezone; the charts sit beside the markdown
(`nightly-YYYY-MM-DD-failure-rate.svg`, `nightly-YYYY-MM-DD-signatures.svg`) so its relative links
work in any viewer. "Latest" is the newest date, not the newest file.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path

REPORTS_DIR = "reports"
CHARTS = ("failure-rate", "signatures")
_NAME_RE = re.compile(r"^nightly-(\d{4}-\d{2}-\d{2})\.md$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def reports_dir(data_dir: Path) -> Path:
    return Path(data_dir) / REPORTS_DIR


def markdown_name(night: date | str) -> str:
    return f"nightly-{_iso(night)}.md"


def chart_name(night: date | str, chart: str) -> str:
    return f"nightly-{_iso(night)}-{chart}.svg"


def available_dates(folder: Path) -> list[str]:
    """Dates that have a report, newest first."""
    if not folder.is_dir():
        return []
    found = (_NAME_RE.match(p.name) for p in folder.iterdir())
    return sorted((m.group(1) for m in found if m), reverse=True)


def write_atomically(path: Path, content: str) -> None:
    """Readers (the MCP resource, a browser) never see half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is as readable as a normal file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _iso(night: date | str) -> str:
    return night if isinstance(night, str) else night.isoformat()
