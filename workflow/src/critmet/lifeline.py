"""Tie every process of a build to the build's owner, so that nothing writes after the owner is killed.

A build is owned by one Snakemake process. Its id and start time are exported as CRITMET_OWNER when the
workflow is parsed (workflow/rules/common.smk), so every job inherits them. A job (and the fork server of
critmet.worker, and each child it forks) watches the owner: when the owner is gone (killed, even with
SIGKILL), the job kills itself within a fraction of a second, and every atomic write checks the owner just
before it replaces a file (critmet.io). Processes started by a parent that must not outlive it also ask the
kernel for a SIGKILL when their parent dies (PR_SET_PDEATHSIG).

Without CRITMET_OWNER (a function called from a test or by hand) nothing is watched.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time

OWNER_ENV = "CRITMET_OWNER"
PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.1


class OwnerGone(RuntimeError):
    """The build that started this job is no longer alive: the job must not write anything."""


def _start_time(pid: int) -> str | None:
    """The kernel's start time of process `pid` (clock ticks since boot), or None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if not fields or fields[0] in ("Z", "X", "x"):
        return None
    return fields[19]


def token(pid: int | None = None) -> str:
    """'pid:start time' of a process: unlike a bare id, it cannot be mistaken for a later process."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_time(pid)}"


def alive(owner: str) -> bool:
    """Is the process that `owner` (a token) names still running?"""
    try:
        pid, start = owner.split(":", 1)
        return _start_time(int(pid)) == start
    except ValueError:
        return False


def owner() -> str | None:
    return os.environ.get(OWNER_ENV) or None


def ensure_owner() -> None:
    """Raise OwnerGone if this process belongs to a build whose owner has died."""
    current = owner()
    if current and not alive(current):
        raise OwnerGone(f"the build that started this job (process {current.split(':')[0]}) has ended")


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; a no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return


def _watch(current: str) -> None:
    while alive(current):
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)


def watch_owner() -> None:
    """Kill this process (SIGKILL, no clean-up that could write) as soon as the build's owner is gone."""
    current = owner()
    if not current:
        return
    if not alive(current):
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=_watch, args=(current,), daemon=True, name="critmet-owner-watch").start()
