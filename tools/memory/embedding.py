"""The default embedding: hashed features of normalised error text, computed offline in microseconds.

Nothing to download and deterministic across machines and versions of Python (blake2b, not
`hash()`). Word unigrams carry the meaning, bigrams keep some word order, character n-grams meet
spelling variants and identifiers (`imaplib` / `imap`). Placeholders and generic error words get low
weights so that ids and numbers cannot make two different problems look alike.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from .text import CONCEPTS, GENERIC, PLACEHOLDERS, tokens

DEFAULT_DIM = 768
MIN_DIM, MAX_DIM = 64, 8192
WEIGHT_CONCEPT, WEIGHT_WORD, WEIGHT_GENERIC, WEIGHT_PLACEHOLDER = 1.6, 1.0, 0.2, 0.1
WEIGHT_BIGRAM, WEIGHT_CHARS = 0.6, 0.5
CHAR_NGRAMS = (3, 4)


def _token_weight(token: str) -> float:
    if token in PLACEHOLDERS:
        return WEIGHT_PLACEHOLDER
    if token in CONCEPTS:
        return WEIGHT_CONCEPT
    if token in GENERIC:
        return WEIGHT_GENERIC
    return WEIGHT_WORD


def features(text: str) -> dict[str, float]:
    """Named features of one text with their weights (before hashing), sublinear in repetition."""
    toks = tokens(text)
    raw: dict[str, float] = {}

    def add(name: str, weight: float) -> None:
        raw[name] = raw.get(name, 0.0) + weight

    for tok in toks:
        weight = _token_weight(tok)
        add("w:" + tok, weight)
        if weight == WEIGHT_WORD and len(tok) > 3:
            padded = f"<{tok}>"
            grams = [padded[i : i + n] for n in CHAR_NGRAMS for i in range(len(padded) - n + 1)]
            share = WEIGHT_CHARS / math.sqrt(len(grams))
            for gram in grams:
                add("c:" + gram, share)
    meaningful = [t for t in toks if t not in GENERIC]
    for left, right in zip(meaningful, meaningful[1:], strict=False):
        add(f"b:{left} {right}", WEIGHT_BIGRAM * min(_token_weight(left), _token_weight(right)))
    return {name: math.sqrt(weight) for name, weight in raw.items()}


@lru_cache(maxsize=500_000)
def _slot(feature: str, dim: int) -> tuple[int, float]:
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return digest % dim, 1.0 if (digest >> 63) & 1 else -1.0


def embed_text(text: str, dim: int = DEFAULT_DIM) -> np.ndarray:
    """One L2-normalised float32 vector; an empty text gives a fixed unit vector, never NaN."""
    vector = np.zeros(dim, dtype=np.float32)
    for name, weight in features(text).items():
        index, sign = _slot(name, dim)
        vector[index] += sign * weight
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return vector / norm


@register_embedding_function
class ErrorTextEmbedding(EmbeddingFunction[Documents]):
    """chromadb embedding function over `features`: the memory's default, offline and fast."""

    def __init__(self, dim: int = DEFAULT_DIM) -> None:
        if not isinstance(dim, int) or not MIN_DIM <= dim <= MAX_DIM:
            raise ValueError(f"dim must be an integer from {MIN_DIM} to {MAX_DIM}, got {dim!r}")
        self.dim = dim

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - the protocol's parameter name
        return [embed_text(text, self.dim) for text in input]

    @staticmethod
    def name() -> str:
        return "self_improver_error_text_v1"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ErrorTextEmbedding:
        return ErrorTextEmbedding(dim=int(config.get("dim", DEFAULT_DIM)))

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        dim = config.get("dim", DEFAULT_DIM)
        if not isinstance(dim, int) or not MIN_DIM <= dim <= MAX_DIM:
            raise ValueError(f"dim must be an integer from {MIN_DIM} to {MAX_DIM}")

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config.get("dim") != new_config.get("dim"):
            raise ValueError(
                "the dimension of a collection cannot change: run `self-improver memory reindex`"
            )
