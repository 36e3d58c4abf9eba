"""Files at rest are owner-only: every file the bot writes is 0600, every folder it uses 0700.

The database holds party members' names, statuses and meeting records, so nothing the bot writes
may be readable by another account on the same machine. Modes are set explicitly rather than
trusted to the umask: the bot may run under a shell or service whose umask is 022, and a file
or folder that already exists keeps whatever mode it was given. Everything that writes to disk
(the database, backups, archives, exports, the demo's files) goes through these helpers.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# Any permission for the group or for others counts as exposed.
_SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO


def _owned(path: Path) -> bool:
    # A folder owned by someone else (e.g. root's /var/lib) cannot be chmod-ed; it is theirs.
    return not hasattr(os, "getuid") or path.stat().st_uid == os.getuid()


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create the folder (and missing parents) as 0700, or tighten an existing one we own."""
    folder = Path(path)
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            created.mkdir(mode=PRIVATE_DIR)
        # mkdir's mode is filtered through the umask, so it is set again.
        created.chmod(PRIVATE_DIR)
    if folder not in missing and _owned(folder):
        folder.chmod(PRIVATE_DIR)
    return folder


def private_file(path: str | os.PathLike[str], *, tighten: bool = True) -> Path:
    """Make sure the file exists as 0600 (empty if new), e.g. before SQLite writes into it.

    SQLite creates a missing database with the umask's mode and gives its -wal and -shm files
    the database file's mode, so creating the file first keeps all three owner-only. With
    `tighten=False` an existing file keeps its mode (the operator's choice, warned about at start).
    """
    file = Path(path)
    private_dir(file.parent)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        if tighten:
            file.chmod(PRIVATE_FILE)
    else:
        os.fchmod(fd, PRIVATE_FILE)
        os.close(fd)
    return file


@contextlib.contextmanager
def open_private(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a file for writing as 0600 whatever the umask, also when it already exists."""
    if not any(flag in mode for flag in "wax"):
        raise ValueError(f"open_private is for writing, not mode {mode!r}")
    file = Path(path)
    private_dir(file.parent)
    flags = os.O_WRONLY | os.O_CREAT
    if "w" in mode:
        flags |= os.O_TRUNC
    if "a" in mode:
        flags |= os.O_APPEND
    if "x" in mode:
        flags |= os.O_EXCL
    fd = os.open(file, flags, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    encoding = None if "b" in mode else "utf-8"
    with open(fd, mode.replace("x", "w"), encoding=encoding) as handle:
        yield handle


def write_private(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write the whole file as 0600, atomically: a reader never sees half of it."""
    file = Path(path)
    private_dir(file.parent)
    # mkstemp creates 0600 files; the rename keeps that mode and replaces the old file at once.
    fd, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with open(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, file)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return file


def database_files(database: str | os.PathLike[str]) -> list[Path]:
    """The database file and the two files SQLite keeps beside it in WAL mode."""
    path = Path(database)
    return [path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")]


def exposed(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The existing files among `paths` that other accounts may read or write."""
    found = []
    for path in map(Path, paths):
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if mode & _SHARED_BITS:
            found.append(path)
    return found
