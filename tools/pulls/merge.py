"""Compatibility: the scratch-repository plumbing moved to `scratch_repo.py` and the audit trail to
`merge_audit.py`. Import from those; this module only keeps older imports working.
"""

from __future__ import annotations

from .merge_audit import MergeAudit, MergeAuditEntry
from .scratch_repo import (
    changed_files,
    fetch_branch,
    is_ancestor,
    merge_commit,
    merge_tree,
    push_commit,
    redact_remote,
    revert_commit,
    scratch_repo,
    set_branch,
)

__all__ = [
    "MergeAudit",
    "MergeAuditEntry",
    "changed_files",
    "fetch_branch",
    "is_ancestor",
    "merge_commit",
    "merge_tree",
    "push_commit",
    "redact_remote",
    "revert_commit",
    "scratch_repo",
    "set_branch",
]
