"""Parsing of every traceback shape Python prints, including broken ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from self_improver.tools.errors import analyze_error, parse_traceback
from self_improver.tools.errors.frames import is_in_app, module_name, normalise_root

CHAINED = """\
Traceback (most recent call last):
  File "/srv/app/billing/invoices.py", line 12, in load
    return json.loads(raw)
           ^^^^^^^^^^^^^^^
  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/srv/app/billing/jobs.py", line 40, in run
    invoice = load(raw)
  File "/srv/app/billing/invoices.py", line 14, in load
    raise InvoiceError("bad invoice") from exc
billing.errors.InvoiceError: bad invoice

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/billing/jobs.py", line 44, in run
    report(None)
  File "/srv/app/.venv/lib/python3.11/site-packages/sentry_sdk/api.py", line 80, in report
    x = y.z
AttributeError: 'NoneType' object has no attribute 'z'
"""

GROUP = """\
  + Exception Group Traceback (most recent call last):
  |   File "/srv/app/worker.py", line 20, in main
  |     async with asyncio.TaskGroup() as tg:
  |   File "/usr/lib/python3.11/asyncio/taskgroups.py", line 145, in __aexit__
  |     raise me from None
  | ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File "/srv/app/worker.py", line 9, in fetch
    |     raise TimeoutError("IMAP timeout")
    | TimeoutError: IMAP timeout
    +---------------- 2 ----------------
    | Exception Group Traceback (most recent call last):
    |   File "/srv/app/worker.py", line 12, in sync
    | ExceptionGroup: inner (1 sub-exception)
    +-+---------------- 1 ----------------
      | KeyError: 'user_id'
      +------------------------------------
"""


def test_plain_frames_have_file_line_function_and_code() -> None:
    chain = parse_traceback(CHAINED, source_root="/srv/app")
    first = chain[0]
    assert first.type == "json.decoder.JSONDecodeError"
    assert first.message == "Expecting value: line 1 column 1 (char 0)"
    frame = first.frames[0]
    assert (frame.file, frame.line, frame.function, frame.code) == (
        "/srv/app/billing/invoices.py",
        12,
        "load",
        "return json.loads(raw)",
    )
    assert frame.module == "billing.invoices" and frame.in_app
    assert first.frames[1].module == "json" and not first.frames[1].in_app


def test_chained_exceptions_are_kept_in_order_cause_first() -> None:
    chain = parse_traceback(CHAINED, source_root="/srv/app")
    assert [r.short_type for r in chain] == ["JSONDecodeError", "InvoiceError", "AttributeError"]
    assert chain[2].frames[-1].module == "sentry_sdk.api" and not chain[2].frames[-1].in_app
    signature = analyze_error("", CHAINED, source_root="/srv/app")
    assert signature.chain == (
        "json.decoder.JSONDecodeError",
        "billing.errors.InvoiceError",
        "AttributeError",
    )
    assert [f.function for f in signature.in_app_frames] == ["run"]


def test_exception_group_members_are_parsed_recursively() -> None:
    (group,) = parse_traceback(GROUP, source_root="/srv/app")
    assert group.type == "ExceptionGroup"
    assert [f.function for f in group.frames] == ["main", "__aexit__"]
    first, second = group.members
    assert first[-1].type == "TimeoutError" and first[-1].frames[0].function == "fetch"
    inner = second[-1]
    assert inner.type == "ExceptionGroup" and inner.members[0][-1].message == "'user_id'"
    signature = analyze_error("", GROUP, source_root="/srv/app")
    assert signature.group_members == ("TimeoutError", "KeyError")
    assert signature.title == "ExceptionGroup: unhandled errors in a TaskGroup (TimeoutError, KeyError)"


def test_real_task_group_signature_ignores_how_many_tasks_failed(
    tmp_path: Path, load_module: Callable[..., ModuleType], capture: Callable[..., str]
) -> None:
    source = (
        "import asyncio\n"
        "async def fail(i):\n"
        "    await asyncio.sleep(0)\n"
        "    raise ValueError(f'task {i}')\n"
        "def run(n):\n"
        "    async def main():\n"
        "        async with asyncio.TaskGroup() as tg:\n"
        "            for i in range(n):\n"
        "                tg.create_task(fail(i))\n"
        "    asyncio.run(main())\n"
    )
    signatures = set()
    for shift, count in [(0, 1), (3, 2), (7, 5)]:
        module = load_module("app/tasks.py", source, shift)
        signatures.add(analyze_error("", capture(module.run, count), source_root=str(tmp_path)).signature)
    assert len(signatures) == 1


def test_traceback_embedded_in_a_log_line() -> None:
    line = (
        "2026-02-15 10:00:01 ERROR worker: Traceback (most recent call last):\n"
        '  File "/srv/app/worker.py", line 3, in poll\n'
        "    fetch()\n"
        "TimeoutError: IMAP timeout after 30s\n"
    )
    (record,) = parse_traceback(line)
    assert record.type == "TimeoutError" and record.frames[0].function == "poll"
    signature = analyze_error(line)
    assert signature.kind == "traceback"
    assert signature.title == "TimeoutError: IMAP timeout after <duration>"


def test_log_prefix_repeated_on_every_line_is_removed() -> None:
    prefix = "2026-02-15 10:00:01 ERROR worker: "
    lines = [
        "Traceback (most recent call last):",
        '  File "/srv/app/worker.py", line 3, in poll',
        "    fetch()",
        "KeyError: 'user_id'",
    ]
    (record,) = parse_traceback("\n".join(prefix + line for line in lines))
    assert record.type == "KeyError" and record.frames[0].code == "fetch()"


def test_message_line_before_the_traceback_does_not_hide_it() -> None:
    text = 'Job 42 failed\nTraceback (most recent call last):\n  File "/srv/app/a.py", line 1, in f\nValueError: x'
    assert analyze_error(text).in_app_frames[0].function == "f"


def test_truncated_tracebacks_do_not_crash() -> None:
    full = CHAINED.splitlines()
    for cut in range(len(full) + 1):
        text = "\n".join(full[:cut])
        parse_traceback(text)
        signature = analyze_error("InvoiceError: bad invoice", text)
        assert len(signature.signature) == 12
    frames_only = 'Traceback (most recent call last):\n  File "/srv/app/a.py", line 3, in handler\n    do('
    (record,) = parse_traceback(frames_only)
    assert record.type is None and record.frames[0].function == "handler"
    signature = analyze_error("KeyError: 'user_id'", frames_only)
    assert signature.error_type == "KeyError" and signature.kind == "traceback"
    assert analyze_error("", "Traceback (most recent call last):").kind == "message"


def test_recursion_and_syntax_error_shapes(
    tmp_path: Path, load_module: Callable[..., ModuleType], capture: Callable[..., str]
) -> None:
    module = load_module("rec.py", "def r(n):\n    return r(n + 1)\n")
    signature = analyze_error("", capture(module.r, 0), source_root=str(tmp_path))
    assert signature.error_type == "RecursionError"
    assert signature.fingerprint == "tb|RecursionError@rec:r"  # 1000 repeated frames count once
    syntax = capture(compile, "x = (", "broken.py", "exec")
    chain = parse_traceback(syntax)
    assert chain[-1].type == "SyntaxError" and chain[-1].frames[-1].file == "broken.py"


def test_in_app_rules_with_and_without_a_source_root() -> None:
    root = normalise_root("/srv/app")
    assert is_in_app("/srv/app/x.py", root) and not is_in_app("/srv/other/x.py", root)
    assert is_in_app("relative/x.py", root)
    assert is_in_app("/home/me/project/x.py", None)
    for library in (
        "/usr/lib/python3.11/json/decoder.py",
        "/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/tasks.py",
        "/srv/app/.venv/lib/python3.11/site-packages/requests/api.py",
        "/usr/lib/python3/dist-packages/yaml/reader.py",
        "<frozen importlib._bootstrap>",
    ):
        assert not is_in_app(library, None), library
    assert module_name("/srv/app/billing/__init__.py", root) == "billing"
    assert module_name("/x/site-packages/requests/sessions.py", None) == "requests.sessions"
    assert module_name("/deploy/releases/20260215/app/handlers.py", None) == "handlers"
    assert module_name("<frozen importlib._bootstrap>", None) == "importlib._bootstrap"
