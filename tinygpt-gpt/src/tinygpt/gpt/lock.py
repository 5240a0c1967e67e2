"""One trainer per run folder: an exclusive lock on `<run>/lock` while a run trains.

`train()` takes the lock before it changes anything in a run folder and holds it until it
returns. The operating system drops the lock when the process dies, even by `kill -9`, so a
stale lock never blocks anyone; the file stays, holding the last holder's pid, host and start
time, which a second trainer reads to say who has the run. Only the holder may clean up:
`remove_stale_temp_files` deletes the temp files that a killed atomic write left behind.

Readers (`tinygpt sample`, `tinygpt eval`) take no lock: checkpoints are replaced atomically.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from ._files import describe_os_error, error_code, is_temp_file_of, naming
from .runs import RUN_FILES, RunError

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

__all__ = ["LOCK_NAME", "RunLock"]

LOCK_NAME = "lock"
_BUSY = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES}  # "someone else holds it"
_WINDOWS_BYTE = 1 << 20  # lock a byte past the text, which must stay readable


class RunLock:
    """`with RunLock(run_dir): ...` holds `run_dir`'s lock, or raises RunError at once
    naming the process that holds it."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock and write who holds it; RunError if it is held or cannot be taken."""
        if not os.access(self.run_dir, os.W_OK):
            raise RunError(
                f"cannot train in {self.run_dir}: the folder is read-only; make it writable "
                f"(chmod u+w {self.run_dir}), or copy the run to a writable folder and resume "
                "the copy"
            )
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)  # less the umask: file_mode
        except OSError as error:
            raise RunError(self._cannot(error)) from error
        try:
            _lock(fd)
        except OSError as error:
            holder = _read_holder(fd)
            os.close(fd)
            if error_code(error) not in _BUSY:
                raise RunError(self._cannot(error)) from error
            raise RunError(self._busy_message(holder)) from None
        try:
            _write_holder(fd)
        except OSError as error:
            os.close(fd)
            raise RunError(self._cannot(error)) from error
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        if sys.platform == "win32":
            os.lseek(self._fd, _WINDOWS_BYTE, os.SEEK_SET)
            msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
        os.close(self._fd)  # on POSIX, closing the file drops the flock
        self._fd = None

    def remove_stale_temp_files(self) -> list[str]:
        """Delete the temp files that interrupted atomic writes of the run's files left.

        Only names of exactly that form (`.last.safetensors.k3_x9qa0.tmp`, see `_files.py`)
        are touched, and only while we hold the lock: no other trainer can be writing them.
        """
        assert self._fd is not None, "remove_stale_temp_files needs the lock held"
        removed = []
        for entry in sorted(os.scandir(self.run_dir), key=lambda e: e.name):
            if entry.is_file(follow_symlinks=False) and is_temp_file_of(entry.name, RUN_FILES):
                os.unlink(entry.path)
                removed.append(entry.name)
        return removed

    def _cannot(self, error: OSError) -> str:
        return f"cannot lock the run: {describe_os_error(naming(error, self.path))}"

    def _busy_message(self, holder: dict) -> str:
        pid, host = holder.get("pid"), holder.get("host")
        who = f"process {pid}" if pid else "another process"
        if host:
            who += f" on {host}"
        if holder.get("started"):
            who += f" (since {holder['started']})"
        stop = f"stop it (kill {pid})" if pid and host == socket.gethostname() else "stop it"
        return (
            f"{self.run_dir} is being trained by {who}, which holds {self.path}: wait for it "
            f"to finish or {stop}, then try again"
        )


def _lock(fd: int) -> None:
    """Lock `fd` exclusively without waiting; OSError (EAGAIN, ...) if someone holds it."""
    if sys.platform == "win32":
        os.lseek(fd, _WINDOWS_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _write_holder(fd: int) -> None:
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(holder) + "\n").encode("utf-8"))


def _read_holder(fd: int) -> dict:
    """Who holds the lock, as its holder wrote it ({} if it has not written yet)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        holder = json.loads(os.read(fd, 4096).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}
