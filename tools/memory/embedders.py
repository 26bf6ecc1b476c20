"""Choose the embedding function from settings, and never let it download anything at run time.

`offline` is the hashed error-text embedding. `minilm` is chromadb's ONNX all-MiniLM-L6-v2, used
only when its model is already in chromadb's cache; `self-improver memory download-model` fetches it
explicitly, once, on a machine with internet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..support.problems import UnavailableError
from .embedding import DEFAULT_DIM, ErrorTextEmbedding

EMBEDDINGS = ("offline", "minilm")
MINILM_DIM = 384
MINILM_FILES = (
    "config.json",
    "model.onnx",
    "special_tokens_map.json",
    "tokenizer_config.json",
    "tokenizer.json",
    "vocab.txt",
)


@dataclass(frozen=True)
class Embedder:
    """An embedding function with the identity that is pinned in the collection's metadata."""

    function: Any
    name: str
    dim: int

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.function(list(texts))
        return [np.asarray(v, dtype=np.float32).tolist() for v in vectors]


def minilm_model_dir() -> Path:
    """Where chromadb's ONNX MiniLM keeps its extracted model files."""
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    return Path(ONNXMiniLM_L6_V2.DOWNLOAD_PATH) / ONNXMiniLM_L6_V2.EXTRACTED_FOLDER_NAME


def minilm_available() -> bool:
    folder = minilm_model_dir()
    return all((folder / name).is_file() for name in MINILM_FILES)


def download_minilm() -> Path:
    """Fetch the MiniLM model into chromadb's cache (the only code path that downloads)."""
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    ONNXMiniLM_L6_V2()._download_model_if_not_exists()
    return minilm_model_dir()


def offline_embedder(dim: int = DEFAULT_DIM) -> Embedder:
    function = ErrorTextEmbedding(dim)
    return Embedder(function=function, name=function.name(), dim=dim)


def minilm_embedder() -> Embedder:
    if not minilm_available():
        raise UnavailableError(
            f"the MiniLM embedding model is not in the local cache ({minilm_model_dir()}), and self-improver never "
            "downloads at run time: run `self-improver memory download-model` once on a machine with internet, "
            "or set SELF_IMPROVER_EMBEDDING=offline"
        )
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    function = ONNXMiniLM_L6_V2()
    return Embedder(function=function, name=function.name(), dim=MINILM_DIM)


def make_embedder(kind: str) -> Embedder:
    if kind == "offline":
        return offline_embedder()
    if kind == "minilm":
        return minilm_embedder()
    raise UnavailableError(
        f"unknown embedding {kind!r}: set SELF_IMPROVER_EMBEDDING to one of {', '.join(EMBEDDINGS)}"
    )
