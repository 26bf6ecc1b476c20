"""`max_open_prs` holds across processes sharing one data dir: several real processes, each with its own
server, apply a different fix and open it at the same moment; exactly the cap's number of pull requests opens."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from pull_requests.git_setup import UserRepo, git
from self_improver.server.config import load_settings
from self_improver.tools.pulls.records import PullRecords

WORKER = Path(__file__).with_name("open_worker.py")
PROCESSES = 5


def test_max_open_prs_holds_when_processes_open_at_the_same_moment(
    tmp_path: Path, user_repo: UserRepo, demo_db: Path
) -> None:
    # each process applies its own fix with apply_patch ("-") and opens it, all at the same moment
    fixes = [("-", f"{index + 1:x}" * 12) for index in range(PROCESSES)]
    data = tmp_path / "shared-data"
    config = tmp_path / "self-improver.toml"
    config.write_text(
        f'data_dir = "{data}"\ntelemetry_db = "{demo_db}"\npr_provider = "local"\nmax_open_prs = 2\n'
        f'max_prs_per_run = 10\nembedding = "offline"\n\n[[repos]]\nname = "worker"\npath = "{user_repo.path}"\n'
    )
    load_settings(config)  # the file is valid before five processes read it
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(config), branch, signature, str(barrier), str(index)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index, (branch, signature) in enumerate(fixes)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(list(barrier.glob("ready-*"))) < PROCESSES:
            assert time.monotonic() < deadline, "the servers did not start"
            assert all(w.poll() is None for w in workers), [w.communicate() for w in workers if w.poll()]
            time.sleep(0.05)
        (barrier / "go").write_text("go")
        outcomes = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err[-3000:]
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    opened = [o["number"] for o in outcomes if "number" in o]
    refused = [o["error"] for o in outcomes if "error" in o]
    assert sorted(opened) == [1, 2]
    assert len(refused) == PROCESSES - 2
    for message in refused:
        assert "max_open_prs=2" in message and "Nothing was pushed" in message
        assert "raise max_open_prs in the config (SELF_IMPROVER_MAX_OPEN_PRS)" in message
    records = PullRecords(data / "pulls.db")
    assert records.count_open("local", ["worker"]) == 2
    remote = data / "remotes" / "worker.git"
    assert len(git(remote, "for-each-ref", "refs/heads/self-improver").splitlines()) == 2
