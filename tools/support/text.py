"""Untrusted text stays text: control characters out, markdown that cannot be interpreted.

Telemetry, error messages, agent names and agent output are written by programs we do not control.
Before any of it is written to a file, returned by a tool or published (pull request bodies):

- `strip_control` removes terminal escape sequences (CSI such as `ESC [2J`, OSC such as the `ESC ]8;;`
  hyperlink, and every other `ESC`-introduced sequence, also in their 8-bit C1 forms) and then every
  remaining C0 control character except newline and tab, DEL and every C1 control character;
- `code_span` and `fenced_block` put the text in markdown code, which renders it literally (no links,
  images, HTML or headings), with a fence longer than any backtick run inside so it cannot close early.

Strip first, then escape: removing characters after the fence is chosen could join backtick runs.
"""

from __future__ import annotations

import re

# OSC, DCS, SOS, PM and APC carry a string up to a terminator (BEL or ST, as `ESC \` or 8-bit 0x9c).
# An unterminated one is removed up to the end of its line.
_STRING_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
)
# CSI: parameters, intermediates, one final byte (7-bit `ESC [` or 8-bit 0x9b).
_CSI = re.compile(r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?")
# Any other escape: intermediates, then one final character (`ESC c` resets the terminal).
_ESCAPE = re.compile(r"\x1b[\x20-\x2f]*[\x30-\x7e]?")
# Whatever is left: C0 but \t and \n, DEL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """`text` without escape sequences and control characters; newlines and tabs are kept."""
    if text.isprintable():  # fast path: no control character at all (also none of \n, \t)
        return text
    text = _STRING_SEQUENCE.sub("", text)
    text = _CSI.sub("", text)
    text = _ESCAPE.sub("", text)
    return _CONTROL.sub("", text)


def strip_control_deep(value: object) -> object:
    """`strip_control` applied to every string inside lists, tuples and dict keys/values."""
    if isinstance(value, str):
        return strip_control(value)
    if isinstance(value, list):
        return [strip_control_deep(v) for v in value]
    if isinstance(value, tuple):
        return tuple(strip_control_deep(v) for v in value)
    if isinstance(value, dict):
        return {strip_control_deep(k): strip_control_deep(v) for k, v in value.items()}
    return value


def code_span(value: object, limit: int = 120, in_table: bool = False) -> str:
    """An inline code span that holds any text literally, on one line, cut to `limit` characters.

    `in_table`: also escape `|` so the span cannot end a table cell (GFM reads `\\|` inside a cell as
    `|`, outside a table it would show the backslash).
    """
    text = " ".join(strip_control(str(value)).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    if not text:
        return "` `"
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced_block(text: str, info: str = "text") -> str:
    """A fenced block longer than any backtick run inside, so data cannot close it early."""
    text = strip_control(text)
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"
