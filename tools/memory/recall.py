"""Answer "have we seen this?": exact signature matches first, then the nearest findings by meaning.

A signature is exact evidence (same error group), so its findings always come first; the query text
then finds the same problem under other signatures (reworded errors, other services). Filters narrow
both. Without a query, filtered findings come newest first.

Nearest is not the same as similar: a query about a cake recipe has a nearest finding too. Findings
under other signatures are returned only at or above the embedding's calibrated `min_similarity`
(see `embedders`); when none reaches it the result says "nothing similar" instead of pretending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..support.problems import ToolInputError
from .fields import EPOCH, from_chroma, parse_time
from .filters import combine, since_clause, where_clauses
from .models import RecalledFinding, RecallResult
from .store import MemoryStore

if TYPE_CHECKING:
    import numpy as np

MAX_TOP_K = 50
MAX_QUERY_CHARS = 5_000
MAX_SIGNATURE_CHARS = 500
FILTER_SCAN_LIMIT = 20_000
RANK_LOCALLY_UP_TO = 100


def _recalled(
    fid: str, doc: str | None, meta: dict[str, Any] | None, similarity: float | None, match: str
) -> RecalledFinding:
    finding = from_chroma(fid, doc, meta)
    score = None if similarity is None else round(max(-1.0, min(1.0, similarity)), 4)
    return RecalledFinding(**finding.model_dump(), similarity=score, match=match)  # type: ignore[arg-type]


def check_recall_args(query: str | None, signature: str | None, top_k: int) -> tuple[str | None, str | None]:
    text = (query or "").strip() or None
    sig = (signature or "").strip() or None
    if text and len(text) > MAX_QUERY_CHARS:
        raise ToolInputError(
            f"query is longer than {MAX_QUERY_CHARS} characters: send the error message or a summary"
        )
    if sig and len(sig) > MAX_SIGNATURE_CHARS:
        raise ToolInputError("signature is too long: send the signature returned by top_errors")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise ToolInputError(f"top_k must be an integer from 1 to {MAX_TOP_K}, got {top_k!r}")
    return text, sig


def recall(
    store: MemoryStore,
    query: str | None = None,
    signature: str | None = None,
    where: dict[str, Any] | None = None,
    top_k: int = 5,
    since: str | None = None,
    min_similarity: float | None = None,
) -> RecallResult:
    """`min_similarity` overrides the embedding's calibrated threshold (benchmarks; -1 keeps everything)."""
    text, sig = check_recall_args(query, signature, top_k)
    clauses = where_clauses(where)
    if since:
        clauses.append(since_clause(parse_time(since, "since").timestamp()))
    if not text and not sig and not clauses:
        raise ToolInputError(
            "nothing to recall by: send query (an error message or a description of the problem), a signature "
            '(from top_errors), or a where filter such as {"pr_status": "open"}'
        )
    import numpy as np  # loaded with the first recall, not at server start

    query_vector = np.asarray(store.embedder.embed([text])[0], dtype=np.float32) if text else None
    floor = store.embedder.min_similarity if min_similarity is None else min_similarity

    def search(collection: Any) -> RecallResult:
        found: list[RecalledFinding] = []
        below = Below()
        searched = False
        if sig:
            found += _by_signature(collection, sig, clauses, query_vector, top_k)
        if query_vector is not None and len(found) < top_k:
            searched = True
            seen = {f.id for f in found}
            found += _similar(
                collection, query_vector, clauses, top_k - len(found), seen, floor=floor, below=below
            )
        elif not text and not sig:
            found += _filtered(collection, clauses, top_k)
        nothing_similar = searched and not any(f.match == "similar" for f in found)
        return RecallResult(
            findings=found,
            count=len(found),
            min_similarity=round(floor, 4) if text else None,
            nothing_similar=nothing_similar,
            note=_note(found, text, sig, floor, below),
        )

    return store.run(search)  # type: ignore[no-any-return]


class Below:
    """Nearest findings left out for being under the threshold: how many, and the closest one's score."""

    def __init__(self) -> None:
        self.count = 0
        self.closest: float | None = None

    def add(self, similarity: float) -> None:
        self.count += 1
        self.closest = similarity if self.closest is None else max(self.closest, similarity)


def _by_signature(
    collection: Any, sig: str, clauses: list[dict[str, Any]], query_vector: np.ndarray | None, top_k: int
) -> list[RecalledFinding]:
    """The signature's findings: nearest to the query first, or newest first without one.

    A signature usually has a few findings (one per night it was seen): those are ranked here by
    exact cosine, because chroma's filtered HNSW search is slow for very selective filters.
    """
    exact = [{"signature": {"$eq": sig}}, *clauses]
    if query_vector is None:
        return _filtered(collection, exact, top_k, match="signature")
    ids = collection.get(where=combine(exact), include=[], limit=RANK_LOCALLY_UP_TO + 1)["ids"]
    if len(ids) > RANK_LOCALLY_UP_TO:
        return _similar(collection, query_vector, exact, top_k, set(), match="signature")
    if not ids:
        return []
    got = collection.get(ids=ids, include=["documents", "metadatas", "embeddings"])
    import numpy as np

    scored = [
        (float(np.dot(np.asarray(vector, dtype=np.float32), query_vector)), fid, doc, meta)
        for fid, doc, meta, vector in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
        )
    ]
    scored.sort(key=lambda row: -row[0])
    return [_recalled(fid, doc, meta, score, "signature") for score, fid, doc, meta in scored[:top_k]]


def _similar(
    collection: Any,
    query_vector: np.ndarray,
    clauses: list[dict[str, Any]],
    wanted: int,
    seen: set[str],
    match: str = "similar",
    floor: float | None = None,
    below: Below | None = None,
) -> list[RecalledFinding]:
    """The nearest findings; with a floor, those under it are counted in `below` instead of returned."""
    got = collection.query(
        query_embeddings=[query_vector.tolist()],
        n_results=wanted + len(seen),
        where=combine(clauses),
        include=["documents", "metadatas", "distances"],
    )
    out: list[RecalledFinding] = []
    for fid, doc, meta, distance in zip(
        got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True
    ):
        similarity = 1.0 - float(distance)
        if fid in seen or len(out) >= wanted:
            continue
        if floor is not None and similarity < floor:
            if below is not None:
                below.add(similarity)
            continue
        out.append(_recalled(fid, doc, meta, similarity, match))
    return out


def _filtered(
    collection: Any, clauses: list[dict[str, Any]], top_k: int, match: str = "filter"
) -> list[RecalledFinding]:
    got = collection.get(where=combine(clauses), include=["metadatas"], limit=FILTER_SCAN_LIMIT)
    newest = sorted(
        zip(got["ids"], got["metadatas"], strict=True), key=lambda r: -float((r[1] or {}).get(EPOCH, 0.0))
    )[:top_k]
    if not newest:
        return []
    full = collection.get(ids=[fid for fid, _ in newest], include=["documents", "metadatas"])
    by_id = {
        fid: (doc, meta)
        for fid, doc, meta in zip(full["ids"], full["documents"], full["metadatas"], strict=True)
    }
    return [_recalled(fid, *by_id[fid], None, match) for fid, _ in newest if fid in by_id]


def _note(
    found: list[RecalledFinding], text: str | None, sig: str | None, floor: float, below: Below
) -> str | None:
    exact = any(f.match == "signature" for f in found)
    similar = any(f.match == "similar" for f in found)
    closest = (
        f" (the closest stored finding scores {below.closest:.2f}, under the {floor:.2f} threshold)"
        if below.closest is not None
        else ""
    )
    if sig and not exact and text and similar:
        return (
            f"no finding has signature {sig!r} yet: the results are similar findings under other signatures"
        )
    if sig and not exact and text:
        return (
            f"no finding has signature {sig!r} yet, and nothing similar is stored under other signatures{closest}: "
            "this looks new"
        )
    if sig and not exact:
        return (
            f"no finding has signature {sig!r}: call again with query set to its error message to find the same "
            "problem recorded under another signature"
        )
    if text and not found and below.count:
        return f"nothing similar: no stored finding is close to the query{closest}; this looks new"
    if not found:
        return "nothing stored matches: this looks new (or loosen the filters)"
    return None
