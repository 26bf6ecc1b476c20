"""A second set of synthetic log styles, written after the miner changes were frozen and scored once.

`synthetic_logs.py` was used while developing the miner, so it is no longer unseen. These styles
(container orchestration, database server, reverse proxy, JVM service, init system, key-value store,
message broker, CI runner) were written afterwards and only measured, never tuned on. Same labelling
rules as `synthetic_logs.py`: names, numbers, addresses, free text are values; alternatives that name
different events are separate templates.
"""

from __future__ import annotations

import random

from synthetic_logs import _duration, _free_text, _hexid, _host, _ip, _path, _size, _user, _word, draw


def _pod(r: random.Random) -> str:
    return f"{_word(r, 3, 8)}-{r.getrandbits(32):08x}-{_word(r, 5, 5)}"


HELDOUT_STYLES = {
    "orchestrator": [
        lambda r: (
            f'Pod "{_pod(r)}" in namespace "{_word(r)}" is in CrashLoopBackOff, restarting in {_duration(r)}'
        ),
        lambda r: (
            f'Successfully pulled image "{_word(r)}/{_word(r)}:v{r.randint(1, 9)}.{r.randint(0, 20)}" in {_duration(r)}'
        ),
        lambda r: (
            f"Liveness probe failed: Get http://{_ip(r)}:{r.randint(1000, 9000)}/healthz: dial tcp {_ip(r)}:{r.randint(1000, 9000)}: connect: connection refused"
        ),
        lambda r: f"Readiness probe failed: HTTP probe failed with statuscode: {r.choice([500, 502, 503])}",
        lambda r: f"Created container {_word(r)}",
        lambda r: f"Started container {_word(r)}",
        lambda r: f"Killing container with id docker://{_word(r)}:Need to kill Pod",
        lambda r: (
            f'MountVolume.SetUp failed for volume "{_word(r)}-token-{_word(r, 5, 5)}" : secret "{_word(r)}" not found'
        ),
        lambda r: (
            f"0/{r.randint(3, 50)} nodes are available: {r.randint(1, 9)} Insufficient cpu, {r.randint(1, 9)} node(s) had taint {{node-role.kubernetes.io/master: }}, that the pod didn't tolerate."
        ),
    ],
    "database": [
        lambda r: f'duplicate key value violates unique constraint "{_word(r)}_{_word(r)}_key"',
        lambda r: f'relation "{_word(r)}" does not exist at character {r.randint(10, 300)}',
        lambda r: f'column "{_word(r)}" of relation "{_word(r)}" does not exist',
        lambda r: (
            f"checkpoint complete: wrote {r.randint(1, 9999)} buffers ({r.uniform(0, 100):.1f}%); 0 WAL file(s) added, {r.randint(0, 9)} removed, {r.randint(0, 9)} recycled; write={r.uniform(0, 300):.3f} s, sync={r.uniform(0, 3):.3f} s, total={r.uniform(0, 300):.3f} s"
        ),
        lambda r: (
            f"connection authorized: user={_user(r)} database={_word(r)}"
            + (" SSL enabled" if r.random() < 0.3 else "")
        ),
        lambda r: f'password authentication failed for user "{_user(r)}"',
        lambda r: "could not receive data from client: Connection reset by peer",
        lambda r: f'automatic vacuum of table "{_word(r)}.public.{_word(r)}": index scans: {r.randint(0, 3)}',
        lambda r: "canceling statement due to statement timeout",
        lambda r: (
            f"duration: {r.uniform(0, 9000):.3f} ms  statement: SELECT * FROM {_word(r)} WHERE id = {r.randint(1, 10**6)}"
        ),
    ],
    "reverseproxy": [
        lambda r: (
            f'connect() failed (111: Connection refused) while connecting to upstream, client: {_ip(r)}, server: {_host(r)}, request: "GET {_path(r)} HTTP/1.1", upstream: "http://{_ip(r)}:{r.randint(1000, 9000)}{_path(r)}", host: "{_host(r)}"'
        ),
        lambda r: (
            f'upstream timed out (110: Connection timed out) while reading response header from upstream, client: {_ip(r)}, server: {_host(r)}, request: "POST {_path(r)} HTTP/1.1"'
        ),
        lambda r: (
            f'open() "{_path(r)}" failed (2: No such file or directory), client: {_ip(r)}, server: {_host(r)}'
        ),
        lambda r: (
            f"client intended to send too large body: {r.randint(10**6, 10**8)} bytes, client: {_ip(r)}, server: {_host(r)}"
        ),
        lambda r: f"worker process {r.randint(100, 99999)} exited on signal {r.choice([9, 11, 6])}",
        lambda r: "signal process started",
        lambda r: f'limiting requests, excess: {r.uniform(0, 50):.3f} by zone "{_word(r)}", client: {_ip(r)}',
    ],
    "jvm": [
        lambda r: (
            f'Exception in thread "{_word(r)}-{r.randint(1, 64)}" java.lang.OutOfMemoryError: Java heap space'
        ),
        lambda r: (
            f"GC pause (G1 Evacuation Pause) (young) {r.randint(100, 9000)}M->{r.randint(100, 9000)}M({r.randint(9000, 20000)}M) {r.uniform(1, 900):.3f}ms"
        ),
        lambda r: (
            f"Started {_word(r).capitalize()}Application in {r.uniform(1, 60):.3f} seconds (JVM running for {r.uniform(1, 90):.3f})"
        ),
        lambda r: (
            f"HikariPool-{r.randint(1, 4)} - Connection is not available, request timed out after {r.randint(1000, 60000)}ms."
        ),
        lambda r: f"Tomcat started on port(s): {r.randint(1000, 9999)} (http) with context path ''",
        lambda r: (
            f"Resolved [org.springframework.web.HttpRequestMethodNotSupportedException: Request method '{r.choice(['GET', 'POST', 'PUT', 'DELETE', 'PATCH'])}' not supported]"
        ),
        lambda r: f"Failed to load user {_user(r)}: {_free_text(r)}",
    ],
    "initsystem": [
        lambda r: f"Started {_word(r).capitalize()} {_word(r).capitalize()} Service.",
        lambda r: f"Stopped {_word(r).capitalize()} {_word(r).capitalize()} Service.",
        lambda r: f"{_word(r)}.service: Main process exited, code=exited, status={r.randint(1, 255)}/FAILURE",
        lambda r: f"{_word(r)}.service: Failed with result 'exit-code'.",
        lambda r: f"{_word(r)}.service: Scheduled restart job, restart counter is at {r.randint(1, 50)}.",
        lambda r: f"Reached target {_word(r).capitalize()}.",
        lambda r: f"Mounted {_path(r)}.",
    ],
    "kvstore": [
        lambda r: f"{r.randint(1, 10000)} changes in {r.choice([60, 300, 900])} seconds. Saving...",
        lambda r: f"Background saving started by pid {r.randint(100, 99999)}",
        lambda r: "Background saving terminated with success",
        lambda r: "DB saved on disk",
        lambda r: f"Accepted {_ip(r)}:{r.randint(1024, 65535)}",
        lambda r: (
            f"Client id={r.randint(1, 10**6)} addr={_ip(r)}:{r.randint(1024, 65535)} laddr={_ip(r)}:6379 fd={r.randint(5, 999)} name={r.choice(['', _word(r)])} age={r.randint(0, 9999)} idle={r.randint(0, 999)} closed for overcoming of output buffer limits."
        ),
        lambda r: "MASTER <-> REPLICA sync: Finished with success",
        lambda r: f"Connecting to MASTER {_ip(r)}:6379",
    ],
    "broker": [
        lambda r: (
            f"[Partition {_word(r)}-{r.randint(0, 63)} broker={r.randint(0, 9)}] Shrinking ISR from {r.randint(0, 9)},{r.randint(0, 9)} to {r.randint(0, 9)}. Leader: (highWatermark: {r.randint(0, 10**7)}, endOffset: {r.randint(0, 10**7)})."
        ),
        lambda r: (
            f"[GroupCoordinator {r.randint(0, 9)}]: Preparing to rebalance group {_word(r)} in state PreparingRebalance with old generation {r.randint(0, 999)} (__consumer_offsets-{r.randint(0, 49)}) (reason: {_free_text(r)})"
        ),
        lambda r: (
            f"[Log partition={_word(r)}-{r.randint(0, 63)}, dir={_path(r)}] Deleting segment {r.randint(0, 10**7)}"
        ),
        lambda r: f"[Controller id={r.randint(0, 9)}] Processing automatic preferred replica leader election",
        lambda r: (
            f"[SocketServer brokerId={r.randint(0, 9)}] Failed authentication with /{_ip(r)} (Unexpected Kafka request of type METADATA during SASL handshake.)"
        ),
    ],
    "ci": [
        lambda r: (
            f"Job {_word(r)} #{r.randint(1, 9999)} failed after {_duration(r)}: exit code {r.randint(1, 255)}"
        ),
        lambda r: f"Job {_word(r)} #{r.randint(1, 9999)} succeeded in {_duration(r)}",
        lambda r: f"Downloading artifact '{_word(r)}.tar.gz' ({_size(r)})",
        lambda r: f"Cache restored from key: {_word(r)}-{_hexid(r)}",
        lambda r: f"Cache not found for input keys: {_word(r)}-{_hexid(r)}",
        lambda r: f"Error: Process completed with exit code {r.randint(1, 255)}.",
        lambda r: (
            f"##[warning]Node.js {r.choice([12, 16])} actions are deprecated. Please update the following actions to use Node.js 20: {_word(r)}/{_word(r)}@v{r.randint(1, 4)}"
        ),
        lambda r: f"Runner {_host(r)} lost communication with the server: {_free_text(r)}",
    ],
}


def generate(style: str, count: int = 2000, seed: int = 11) -> tuple[list[str], list[str]]:
    return draw(HELDOUT_STYLES[style], style, random.Random(f"heldout:{style}:{seed}"), count)
