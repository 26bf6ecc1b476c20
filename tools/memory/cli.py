"""`self-improver memory download-model|reindex`: the two memory chores that must be run by hand.

download-model is the only command that downloads (chromadb's MiniLM model, once); reindex moves
the findings to the configured embedding after `SELF_IMPROVER_EMBEDDING` changed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from ..support.problems import ToolInputError, UnavailableError
from .embedders import download_minilm, make_embedder, minilm_available, minilm_model_dir
from .reindex import reindex


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="self-improver memory", description="Maintain the findings memory.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("download-model", help="fetch chromadb's MiniLM model once (needs internet)")
    again = commands.add_parser("reindex", help="re-embed every finding with the configured embedding")
    again.add_argument("--force", action="store_true", help="re-embed even when the embedding did not change")
    return parser


def run_memory_cli(argv: list[str], settings: Any) -> int:
    """Run one memory command; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "download-model":
            if minilm_available():
                print(f"MiniLM model already cached in {minilm_model_dir()}")
                return 0
            print("downloading chromadb's all-MiniLM-L6-v2 ONNX model ...", flush=True)
            print(
                f"MiniLM model ready in {download_minilm()}; set SELF_IMPROVER_EMBEDDING=minilm and run "
                "`self-improver memory reindex` to use it"
            )
            return 0
        embedder = make_embedder(settings.embedding)
        print(
            "stop servers that use this memory first: they keep writing to the collection they opened",
            flush=True,
        )
        report = reindex(
            settings.data_dir,
            settings.memory_url,
            embedder,
            force=args.force,
            progress=lambda msg: print(msg, flush=True),
        )
        print(report.message + (f"; the old collection is kept as {report.backup}" if report.backup else ""))
        return 0
    except (ToolInputError, UnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, httpx.HTTPError, ValueError) as exc:  # no network, or onnxruntime missing
        print(f"error: {exc}", file=sys.stderr)
        return 1
