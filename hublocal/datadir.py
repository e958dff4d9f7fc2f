"""Who is using a data directory: `make run`'s launcher and a restore each hold an exclusive lock on
`<data dir>/hub.lock` while they run, so a restore never swaps files under a running hub and a hub never
starts in the middle of a restore. The lock is the kernel's (flock): it goes with the process that held it,
so a hub that was killed leaves no stale lock behind, only the text of who last held it.

The data directory holds personal data, stored responses and key hashes: it and everything in it are the
owner's alone (0700 directories, 0600 files). Processes that write there run with umask 077
(hubcore.settings.PRIVATE_UMASK, which the services set too), and `secure` fixes what an older version left
readable."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "hub.lock"


def secure(data_dir: Path) -> None:
    """Makes the data directory and everything under it readable by its owner only (symlinks are left)."""
    root = Path(data_dir)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    root.chmod(0o700)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(0o700)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(0o600)


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, what: str) -> bool:
        """Takes the lock for `what` ("hub", "restore"); False if another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {what}\n".encode())
        self._fd = fd
        return True

    def held_elsewhere(self) -> bool:
        """Whether another process holds the lock now (without keeping it)."""
        if self._fd is not None:
            return False
        if not self.acquire("probe"):
            return True
        self.release()
        return False

    def holder(self) -> str:
        """Who holds (or last held) the lock: "hub (pid 123)"."""
        try:
            pid, _, what = self.path.read_text().strip().partition(" ")
        except OSError:
            return "another process"
        return f"{what or 'a process'} (pid {pid})" if pid else "another process"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
