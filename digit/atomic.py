"""A file written whole or not at all: the one way this project replaces a file.

The content goes to a hidden temporary file in the same folder (`.<name>.<pid>.<random>.tmp`, so
a rename never crosses file systems, and a crash leaves a name recovery can recognise: one whose
writer is gone, never one another process is still writing), which
is synced, then renamed over the file (or linked beside it, never over another) and the folder
synced. On any error, a full disk included, the temporary file is removed: a full disk must not
stay full of half-written files, and a reader never sees half a file.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"  # what a crash may leave behind: recovery deletes the abandoned ones
_WRITER = re.compile(r"\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def temporary_name(path: Path) -> Path:
    """A hidden temporary path beside path, unique to this writer, naming its process."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")


def abandoned(path: Path) -> bool:
    """Whether a temporary file is a crash's leftover: its writing process is gone (or it names
    none). Another process's write in flight is not, so opening a folder never breaks it."""
    writer = _WRITER.search(path.name)
    if writer is None:
        return True
    pid = int(writer["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


@contextmanager
def written_whole(path: Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write path's content to (by any library, by name); when the block
    ends without error it is synced and renamed over path (replace=False: linked as path, and
    FileExistsError if path exists). On any error nothing changes at path and no temporary file stays."""
    path = Path(path)
    staged = temporary_name(path)
    placed = False
    try:
        yield staged
        with open(staged, "rb") as handle:
            os.fsync(handle.fileno())
        if replace:
            os.replace(staged, path)
        else:
            os.link(staged, path)
            placed = True
            os.unlink(staged)
        sync_folder(path.parent)
    except BaseException:
        staged.unlink(missing_ok=True)
        if placed and not replace:
            path.unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    """path holds data, whole, or (on an error) what it held before."""
    with written_whole(path) as staged:
        staged.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    """path holds text (UTF-8), whole, or (on an error) what it held before."""
    write_bytes(path, text.encode())


def sync_folder(folder: Path) -> None:
    """Make a new name in folder durable (its entry written)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
