"""Value objects of the error-signature engine: frames, parsed exceptions and the resulting signature."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Frame:
    """One `File "...", line N, in func` entry of a traceback.

    `module` is the location-independent name used in fingerprints (`pkg.mod` relative to the source
    root, `requests.sessions` for a library), so a deploy to another directory keeps the signature.
    """

    file: str
    line: int | None
    function: str
    code: str | None = None
    module: str = ""
    in_app: bool = False


@dataclass(frozen=True, slots=True)
class ExceptionRecord:
    """One exception as printed: its type, message, frames and, for an ExceptionGroup, its members.

    Each member is itself a chain (a member may have its own `During handling...` history).
    """

    type: str | None
    message: str
    frames: tuple[Frame, ...] = ()
    members: tuple[tuple[ExceptionRecord, ...], ...] = ()

    @property
    def short_type(self) -> str | None:
        return None if self.type is None else self.type.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class ErrorSignature:
    """The identity of an error group.

    `signature` is 12 hex chars (sha1 of `fingerprint`). `chain` lists the exception types as printed,
    cause first, the raised exception last. `frames` and `in_app_frames` belong to the raised exception.
    `kind` says what the fingerprint is built from: "traceback" (type + in-app frames) or "message"
    (type + parameterised message template).
    """

    signature: str
    title: str
    error_type: str | None
    template: str
    in_app_frames: tuple[Frame, ...] = ()
    frames: tuple[Frame, ...] = ()
    chain: tuple[str, ...] = ()
    group_members: tuple[str, ...] = ()
    kind: str = "message"
    fingerprint: str = field(default="", repr=False)
