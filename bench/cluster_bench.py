"""Clustering benchmark: grouping accuracy and speed of `cluster_messages` against drain3.

Reports, in one run:
* Loghub-2k (corrected labels) grouping accuracy (GA) and messages/second per dataset, for our
  `cluster_messages` (one default configuration) and drain3's `TemplateMiner` (default settings plus the
  masking instructions of drain3's example configuration);
* leave-one-dataset-out (LOO) GA: every tunable miner parameter is chosen on the seven other datasets
  and GA is measured on the held-out one; plus the GA of every setting of the grid (robustness);
* GA on synthetic logs in styles never used to develop the miner (`synthetic_logs.py`);
* throughput scaling on 10k vs 100k vs 1M synthetic, all-distinct messages;
* signature stability on real Python tracebacks (`python_errors_bench`).

Run: `python bench/cluster_bench.py` (data: `--data DIR`, env `LOGHUB_DIR`, default
`../shared/bench/loghub-dev` next to the repository). The data is read in place, never copied.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import logging
import os
import random
import resource
import string
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from self_improver.tools.errors import cluster_messages
from self_improver.tools.errors.parameterize import clear_token_cache

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "bench" / "loghub-dev"
DATASETS = ["Android", "BGL", "HDFS", "Hadoop", "HealthApp", "OpenStack", "Spark", "Thunderbird"]

# drain3's example configuration (examples/drain3.ini), the masks its docs recommend.
DRAIN3_MASKS = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
]


def drain3_clusterer() -> Callable[[list[str]], list[int]]:
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    logging.getLogger("drain3").setLevel(logging.WARNING)

    def run(messages: list[str]) -> list[int]:
        config = TemplateMinerConfig()
        config.masking_instructions = [MaskingInstruction(pattern, name) for pattern, name in DRAIN3_MASKS]
        miner = TemplateMiner(config=config)
        return [miner.add_log_message(message)["cluster_id"] for message in messages]

    return run


def ours(messages: list[str], **options: int) -> list[str]:
    clear_token_cache()  # every run starts cold, like a fresh drain3 miner
    return cluster_messages(messages, **options)


# The miner's tunable parameters (TemplateMiner keywords) and the values LOO may choose from; the
# defaults are min_distinct_values=5, min_pattern_values=12.
GRID = {"min_distinct_values": (3, 4, 5, 6, 8), "min_pattern_values": (5, 8, 12, 20, 10**9)}
DEFAULTS = {"min_distinct_values": 5, "min_pattern_values": 12}


def leave_one_out(data_dir: Path) -> dict[str, float]:
    """For each dataset, the grid setting with the best mean GA on the other seven, scored on it."""
    settings = [
        {"min_distinct_values": d, "min_pattern_values": p}
        for d in GRID["min_distinct_values"]
        for p in GRID["min_pattern_values"]
    ]
    data = {name: load_dataset(data_dir, name) for name in DATASETS}
    scores = {
        i: {name: grouping_accuracy(ours(m, **setting), t) for name, (m, t) in data.items()}
        for i, setting in enumerate(settings)
    }
    default = settings.index(DEFAULTS)
    print("Leave-one-dataset-out: parameters chosen on the 7 other datasets, GA on the held-out one")
    print(f"{'held out':<12} {'chosen (distinct, pattern)':>27} {'GA LOO':>7} {'GA default':>11}")
    loo = []
    for name in DATASETS:
        best = max(
            scores,
            key=lambda i: (sum(v for k, v in scores[i].items() if k != name), i == default),
        )
        chosen = settings[best]
        loo.append(scores[best][name])
        pattern = chosen["min_pattern_values"]
        shown = f"({chosen['min_distinct_values']}, {'off' if pattern > 10**6 else pattern})"
        print(f"{name:<12} {shown:>27} {scores[best][name]:>7.3f} {scores[default][name]:>11.3f}")
    averages = [sum(scores[i].values()) / len(DATASETS) for i in scores]
    all_in = averages[default]
    print(f"{'average':<12} {'':>27} {sum(loo) / len(loo):>7.3f} {all_in:>11.3f}")
    print(
        "Robustness: average GA over the 8 datasets for every setting of the grid (rows: min_distinct_values)"
    )
    header = " ".join(f"{'off' if p > 10**6 else p:>6}" for p in GRID["min_pattern_values"])
    print(f"  {'pattern ->':<10} {header}")
    for d in GRID["min_distinct_values"]:
        row = [
            averages[settings.index({"min_distinct_values": d, "min_pattern_values": p})]
            for p in GRID["min_pattern_values"]
        ]
        print(f"  {d:<10} " + " ".join(f"{v:>6.3f}" for v in row))
    print(f"  worst setting {min(averages):.3f}, best {max(averages):.3f}")
    return {"loo": sum(loo) / len(loo), "all_in": all_in, "worst": min(averages)}


def unseen_styles() -> float:
    """GA on synthetic logs of styles not used to develop the miner (a proxy for unseen systems).

    `synthetic_logs` was written during the work (so it was looked at); `synthetic_logs_heldout` was
    written after the miner was frozen and is only measured."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import synthetic_logs
    import synthetic_logs_heldout

    averages = []
    for title, module, styles in (
        (
            "synthetic styles, seen while developing (synthetic_logs.py)",
            synthetic_logs,
            synthetic_logs.STYLES,
        ),
        (
            "synthetic styles, held out (synthetic_logs_heldout.py)",
            synthetic_logs_heldout,
            synthetic_logs_heldout.HELDOUT_STYLES,
        ),
    ):
        scores, earlier = [], []
        for style in styles:
            messages, truth = module.generate(style)
            predicted = ours(messages)
            scores.append(grouping_accuracy(predicted, truth))
            if module is synthetic_logs:  # the same messages under the labels before their correction
                earlier.append(grouping_accuracy(predicted, module.generate(style, alternatives=False)[1]))
        averages.append(sum(scores) / len(scores))
        shown = "  ".join(f"{style} {score:.3f}" for style, score in zip(styles, scores, strict=True))
        original = getattr(module, "ORIGINAL_STYLES", styles)
        if len(original) < len(styles):  # styles added later: also the average comparable with before
            first = [score for style, score in zip(styles, scores, strict=True) if style in original]
            shown += f"\n  average of the {len(first)} original styles {sum(first) / len(first):.3f}"
        if earlier:
            old_first = [score for style, score in zip(styles, earlier, strict=True) if style in original]
            shown += (
                f"\n  with the labels before the 2026-11-29 corrections: average {sum(earlier) / len(earlier):.3f}"
                f" ({len(old_first)} original styles {sum(old_first) / len(old_first):.3f})\n  "
                + "  ".join(f"{style} {score:.3f}" for style, score in zip(styles, earlier, strict=True))
            )
        print(f"GA on {title}: average {averages[-1]:.3f}\n  {shown}")
    return averages[-1]


def grouping_accuracy(predicted: list, truth: list[str]) -> float:
    """Loghub GA: a message is correct when its predicted group holds exactly the messages of its true group."""
    true_sizes = Counter(truth)
    groups: dict[object, list[int]] = defaultdict(list)
    for index, group in enumerate(predicted):
        groups[group].append(index)
    correct = 0
    for members in groups.values():
        labels = {truth[i] for i in members}
        if len(labels) == 1 and true_sizes[truth[members[0]]] == len(members):
            correct += len(members)
    return correct / len(truth) if truth else 1.0


def load_dataset(data_dir: Path, name: str) -> tuple[list[str], list[str]]:
    path = data_dir / name / f"{name}_2k.log_structured_corrected.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["Content"] for row in rows], [row["EventId"] for row in rows]


def timed(run: Callable[[list[str]], list], messages: list[str], repeat: int) -> tuple[list, float]:
    """Result of the last run and the best wall time of `repeat` runs."""
    best = float("inf")
    result: list = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run(messages)
        best = min(best, time.perf_counter() - started)
    return result, best


def loghub(data_dir: Path, repeat: int) -> dict[str, float]:
    drain3 = drain3_clusterer()
    print(f"Loghub-2k corrected ({data_dir}), best of {repeat} runs")
    print(f"{'dataset':<12} {'GA ours':>8} {'GA drain3':>10} {'msg/s ours':>11} {'msg/s drain3':>13}")
    totals = {"ga_ours": 0.0, "ga_drain3": 0.0, "time_ours": 0.0, "time_drain3": 0.0, "messages": 0.0}
    for name in DATASETS:
        messages, truth = load_dataset(data_dir, name)
        predicted, seconds = timed(ours, messages, repeat)
        baseline, baseline_seconds = timed(drain3, messages, repeat)
        ga, ga_drain3 = grouping_accuracy(predicted, truth), grouping_accuracy(baseline, truth)
        print(
            f"{name:<12} {ga:>8.3f} {ga_drain3:>10.3f} {len(messages) / seconds:>11,.0f} "
            f"{len(messages) / baseline_seconds:>13,.0f}"
        )
        totals["ga_ours"] += ga
        totals["ga_drain3"] += ga_drain3
        totals["time_ours"] += seconds
        totals["time_drain3"] += baseline_seconds
        totals["messages"] += len(messages)
    count = len(DATASETS)
    speed, speed_drain3 = totals["messages"] / totals["time_ours"], totals["messages"] / totals["time_drain3"]
    print(
        f"{'average':<12} {totals['ga_ours'] / count:>8.3f} {totals['ga_drain3'] / count:>10.3f} "
        f"{speed:>11,.0f} {speed_drain3:>13,.0f}   (speed-up x{speed / speed_drain3:.2f})"
    )
    return {
        "ga": totals["ga_ours"] / count,
        "ga_drain3": totals["ga_drain3"] / count,
        "speedup": speed / speed_drain3,
    }


def shuffled_ga(data_dir: Path, seed: int = 1) -> None:
    """GA when the messages arrive in another order: the miner must not depend much on order."""
    scores = []
    for name in DATASETS:
        messages, truth = load_dataset(data_dir, name)
        order = list(range(len(messages)))
        random.Random(seed).shuffle(order)
        predicted = ours([messages[i] for i in order])
        scores.append(grouping_accuracy(predicted, [truth[i] for i in order]))
    print(f"GA ours with shuffled input order (seed {seed}): {sum(scores) / len(scores):.3f} average")


def synthetic_messages(count: int, seed: int = 3) -> list[str]:
    """All-distinct messages from 40 templates: numbers, ids, addresses, paths, durations, and in half of
    the templates a user name (a value written as a plain word, 2,000 of them)."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))

    users = [word() for _ in range(2000)]
    values: dict[str, Callable[[int], str]] = {
        "num": lambda i: str(rng.randint(0, 10**6)),
        "ip": lambda i: ".".join(str(rng.randint(1, 254)) for _ in range(4)) + f":{rng.randint(1024, 65535)}",
        "uuid": lambda i: (
            f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
            f"a{i % 4096:03x}-{rng.getrandbits(48):012x}"
        ),
        "path": lambda i: f"/srv/data/{rng.choice(users)}/{i}.json",
        "duration": lambda i: f"{rng.randint(1, 999)}ms",
        "hex": lambda i: f"0x{rng.getrandbits(40):x}",
        "user": lambda i: rng.choice(users),
    }
    templates = []
    for number in range(40):
        slots = [
            rng.choice(["num", "ip", "uuid", "path", "duration", "hex"]) for _ in range(rng.randint(1, 3))
        ]
        if number % 2:
            slots.insert(rng.randint(0, len(slots)), "user")
        templates.append([(" ".join(word() for _ in range(rng.randint(1, 3))), slot) for slot in slots])
    messages = []
    for index in range(count):
        parts = [f"{words} {values[slot](index)}" for words, slot in templates[index % len(templates)]]
        messages.append(" ".join(parts) + f" request_id={index}")
    return messages


def scaling(with_drain3: bool, repeat: int) -> None:
    print(f"Throughput scaling on all-distinct synthetic messages (best of {repeat} runs)")
    runners: list[tuple[str, Callable[[list[str]], list]]] = [("ours", ours)]
    if with_drain3:
        runners.append(("drain3", drain3_clusterer()))
    for label, run in runners:
        speeds = []
        for count in (10_000, 100_000, 1_000_000):
            if count > 100_000 and label != "ours":
                continue  # drain3 would take minutes
            messages = synthetic_messages(count)
            result, seconds = timed(run, messages, repeat if count <= 100_000 else 1)
            speeds.append(count / seconds)
            print(
                f"  {label:<7} {count:>7,} messages: {seconds:6.2f}s  {count / seconds:>9,.0f} msg/s  "
                f"{len(set(result))} groups"
            )
        ratios = ", ".join(
            f"{count} / 10k = {speed / speeds[0]:.2f}"
            for count, speed in zip(("100k", "1M"), speeds[1:], strict=False)
        )
        print(f"  {label:<7} msg/s at {ratios} (1.0 = linear)")
    worst_case()


def memory_child(which: str, count: int) -> None:
    """In a fresh process: the peak memory one clusterer adds over `count` messages already in memory.
    The kernel's high-water mark is reset first (`clear_refs` 5), so building the messages does not count."""
    messages = synthetic_messages(count)
    run = ours if which == "ours" else drain3_clusterer()
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_mb("VmRSS")
    result = run(messages)
    print(json.dumps({"added_mb": _status_mb("VmHWM") - before, "groups": len(set(result))}))


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024


def memory(count: int = 1_000_000) -> float:
    """Peak memory added by clustering `count` all-distinct messages, ours against drain3, each in its own
    process (the messages themselves are in memory before either starts); returns ours / drain3."""
    added = {}
    for which in ("ours", "drain3"):
        done = subprocess.run(
            [sys.executable, __file__, "--memory-child", which, str(count)],
            capture_output=True,
            text=True,
            check=True,
        )
        added[which] = json.loads(done.stdout.strip().splitlines()[-1])
    ratio = added["ours"]["added_mb"] / max(added["drain3"]["added_mb"], 1.0)
    print(
        f"Memory clustering {count:,} all-distinct messages (peak RSS added, own process each): "
        f"ours +{added['ours']['added_mb']:.0f} MB ({added['ours']['groups']} groups), "
        f"drain3 +{added['drain3']['added_mb']:.0f} MB ({added['drain3']['groups']} groups): {ratio:.2f}x (target <= 3)"
    )
    return ratio


def worst_case(count: int = 100_000, seed: int = 5) -> None:
    """Every message a new token shape (random words, no values): the miner's most expensive input."""
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9))) for _ in range(5000)
    ]
    messages = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(5, 20))) for _ in range(count)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    groups = len(set(ours(messages)))
    seconds = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(
        f"  worst case, {count:,} random-word messages (all new shapes): {seconds:.2f}s "
        f"{count / seconds:,.0f} msg/s, {groups:,} groups, peak memory +{grown:.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grouping accuracy and speed of cluster_messages vs drain3.")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("LOGHUB_DIR", DEFAULT_DATA)))
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per dataset (best is kept)")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-python", action="store_true", help="skip the Python traceback benchmark")
    parser.add_argument("--skip-memory", action="store_true", help="skip the 1M-message memory comparison")
    parser.add_argument("--memory-child", nargs=2, metavar=("WHICH", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return 0
    ok = True
    if (args.data / DATASETS[0]).is_dir():
        result = loghub(args.data, args.repeat)
        shuffled_ga(args.data)
        print()
        loo = leave_one_out(args.data)
        ok = result["ga"] >= 0.95 and loo["loo"] >= 0.95 and result["speedup"] >= 2.0
    else:
        print(f"Loghub data not found at {args.data}; pass --data or set LOGHUB_DIR", file=sys.stderr)
        ok = False
    print()
    unseen_styles()
    if not args.skip_scaling:
        print()
        scaling(with_drain3=True, repeat=2)
    if not args.skip_memory:
        print()
        ok = memory() <= 3.0 and ok
    if not args.skip_python:
        print()
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from python_errors_bench import run as run_python_errors

        ok = run_python_errors(variants=20) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
