"""One writer per data dir: a cross-process lock (filelock) around ingest, index builds and removals.

Every change to a data dir (corpus + index) goes through `writer_lock(data_dir)`. The lock is an OS file
lock (flock), so it is released when its holder exits or is killed; the holder's pid is written beside it
so that a waiting writer can say whom it waits for. Readers never take it: generations are swapped
atomically and `load_index` retries once when the generation it read vanished under it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ingest.errors import BusyError

LOCK_NAME = ".writer.lock"
OWNER_NAME = ".writer.owner"


def lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOCK_NAME


def holder(data_dir: Path) -> dict:
    """What the current (or last) writer recorded about itself: pid, command, since; {} when unknown."""
    try:
        return json.loads((Path(data_dir) / OWNER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _describe(info: dict) -> str:
    if not info.get("pid"):
        return "another process"
    return f"process {info['pid']} ({info.get('what') or 'govqa'}, since {info.get('since', '?')})"


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@contextmanager
def writer_lock(
    data_dir: Path, wait: bool = True, what: str = "", on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the data dir's writer lock for the `with` block.

    When another writer holds it: with wait=False raise BusyError at once (naming the holder); else call
    `on_wait` with a message saying whom we wait for, then block until the lock is free.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path(data_dir))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = _describe(holder(data_dir))
        if not wait:
            raise BusyError(
                f"{who} is writing to this data dir (ingest, index or remove)",
                path=str(data_dir),
                fix="wait for it to finish and run the command again (or leave out --no-wait to wait)",
            ) from None
        if on_wait is not None:
            on_wait(f"{data_dir}: {who} is writing to this data dir; waiting for it to finish …")
        lock.acquire()
    try:
        owner = data_dir / OWNER_NAME
        tmp = owner.with_name(f"{OWNER_NAME}.{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps({"pid": os.getpid(), "what": what, "since": time.strftime("%Y-%m-%d %H:%M:%S")}),
            encoding="utf-8",
        )
        os.replace(tmp, owner)
        yield
    finally:
        lock.release()
