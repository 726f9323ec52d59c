"""A fork server for the workflow's jobs.

Every job of the pipeline is a short Python program, but importing pandas, matplotlib and WeasyPrint costs
about 1.3 s per process on a small machine: more than most jobs' own work. While Snakemake runs, this server
holds those modules imported once; a job's command-line adapter hands its arguments and its standard
streams to the server, which forks a child that runs the adapter exactly as a fresh process would (same
code, same arguments, output into the same log), and returns its exit status.

Nothing depends on it: without the server (CRITMET_WORKER unset, the socket missing, or any error while
connecting) an adapter simply runs in its own process. Set CRITMET_NO_WORKER=1 to never start it.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

SOCKET_ENV = "CRITMET_WORKER"
DISABLE_ENV = "CRITMET_NO_WORKER"
# What the data jobs (the first to run) need: the server takes requests once these are imported ...
PRELOAD_FIRST = (
    "numpy",
    "pandas",
    "yaml",
    "critmet.clean",
    "critmet.clean.derive",
    "critmet.audit",
    "critmet.editions",
    "critmet.report.variables",
)
# ... and imports these while the first jobs run (a job that comes before its modules imports them itself)
PRELOAD_LATER = (
    "jinja2",
    "matplotlib.figure",
    "matplotlib.pyplot",
    "critmet.figures.common",
    "critmet.figures.style",
    "weasyprint",
    "critmet.report.render",
)


class _Gate:
    """Imports and forks never overlap (a child forked mid-import would inherit a half-imported module and
    its lock), and a fork that is waiting goes before the next import."""

    def __init__(self):
        self._cond = threading.Condition()
        self._importing = False
        self._forks = 0  # forks waiting or under way

    @contextlib.contextmanager
    def importing(self):
        with self._cond:
            self._cond.wait_for(lambda: self._forks == 0)
            self._importing = True
        try:
            yield
        finally:
            with self._cond:
                self._importing = False
                self._cond.notify_all()

    @contextlib.contextmanager
    def forking(self):
        with self._cond:
            self._forks += 1
            self._cond.wait_for(lambda: not self._importing)
        try:
            yield
        finally:
            with self._cond:
                self._forks -= 1
                self._cond.notify_all()


_GATE = _Gate()
IDLE_SECONDS = 600
STARTUP_WAIT = 2.5  # seconds a job waits for a server that is still starting


# ------------------------------------------------------------------------------------------------ client
def delegate(script: str, argv: list[str]) -> int | None:
    """Run `script argv` in the server if one is listening; None if there is none (run it yourself)."""
    path = os.environ.get(SOCKET_ENV)
    if not path or os.environ.get(DISABLE_ENV):
        return None
    deadline = time.monotonic() + STARTUP_WAIT
    while not os.path.exists(path):  # the server is still importing: waiting is cheaper than importing too
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(path)
            request = {"script": os.path.abspath(script), "argv": argv, "cwd": os.getcwd()}
            request = json.dumps({**request, "owner": os.environ.get("CRITMET_OWNER", "")}).encode()
            socket.send_fds(conn, [struct.pack("!I", len(request)) + request], [0, 1, 2])
            reply = conn.recv(4)
            if len(reply) != 4:
                return None
            return struct.unpack("!i", reply)[0]
    except OSError:
        return None


def run(script: str, main) -> int:
    """The end of every adapter: delegate to the server, or run `main()` here. Either way the job dies
    with the build that started it (critmet.lifeline)."""
    from critmet.lifeline import watch_owner

    watch_owner()
    code = delegate(script, sys.argv[1:])
    return main() if code is None else code


# ------------------------------------------------------------------------------------------------ server
def _child(request: dict, fds: list[int]) -> None:
    """In the forked child: become the job (streams, folder, arguments) and run the adapter. It dies with
    the server (PR_SET_PDEATHSIG) and with the build's owner (a watch thread: threads do not survive fork)."""
    from critmet.lifeline import OWNER_ENV, die_with_parent, watch_owner

    die_with_parent()
    os.environ.pop(SOCKET_ENV, None)
    if request.get("owner"):
        os.environ[OWNER_ENV] = request["owner"]
    watch_owner()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = os.fdopen(0, "r", closefd=False)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    os.chdir(request["cwd"])
    sys.argv = [request["script"], *request["argv"]]
    code = 0
    try:
        runpy.run_path(request["script"], run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # the traceback goes to the job's log, as it would in its own process
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _drain(conn: socket.socket) -> bytes:
    """What the adapter sent after its request (it sends nothing more: it waits for the exit status), read
    and dropped; b"" when it is gone."""
    try:
        return conn.recv(4096)
    except OSError:
        return b""


def _wait(pid: int, conn: socket.socket) -> int | None:
    """The wait status of child `pid`, or None as soon as the adapter at the other end of `conn` is gone.
    Wakes the moment the child exits (a pidfd); where there is none (Linux before 5.3), looks every 0.1 s."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            watched = [conn] if pidfd is None else [conn, pidfd]
            readable, _, _ = select.select(watched, [], [], 0.1 if pidfd is None else None)
            if conn in readable and not _drain(conn):
                return None
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _handle(conn: socket.socket) -> None:
    with conn:
        head, fds, _, _ = socket.recv_fds(conn, 4, 3)
        (length,) = struct.unpack("!I", head)
        body = b""
        while len(body) < length:
            chunk = conn.recv(length - len(body))
            if not chunk:
                return
            body += chunk
        request = json.loads(body)
        with _GATE.forking():
            pid = os.fork()
        if pid == 0:
            conn.close()
            _child(request, fds)
        for fd in fds:
            os.close(fd)
        status = _wait(pid, conn)
        if status is None:  # the job's adapter is gone (killed): its work stops too
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return
        code = os.waitstatus_to_exitcode(status)
        conn.sendall(struct.pack("!i", code if code >= 0 else 128 - code))


def serve(path: str, owner: str) -> None:
    """Preload the heavy modules (those of the data jobs first, the rest while the first requests are
    served), and fork a child per request until the owner (Snakemake) is gone.
    `owner` is a critmet.lifeline token; when the owner dies the server kills itself at once, and its
    children die with it (PR_SET_PDEATHSIG)."""
    import importlib

    import matplotlib

    from critmet.lifeline import OWNER_ENV, alive, watch_owner

    os.environ[OWNER_ENV] = owner
    watch_owner()

    matplotlib.use("Agg")
    for name in PRELOAD_FIRST:
        importlib.import_module(name)

    def preload_rest():
        for name in PRELOAD_LATER:
            with _GATE.importing():
                importlib.import_module(name)

    threading.Thread(target=preload_rest, daemon=True).start()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}"
    server.bind(tmp)
    os.chmod(tmp, 0o600)  # only this user may connect (the folder is private too)
    server.listen(16)
    os.replace(tmp, path)  # appears only when ready
    server.settimeout(1.0)
    last = time.monotonic()
    try:
        while time.monotonic() - last < IDLE_SECONDS:
            if not alive(owner):
                break
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            last = time.monotonic()
            conn.settimeout(None)
            threading.Thread(target=_handle, args=(conn,), daemon=True).start()
    finally:
        server.close()
        Path(path).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the private folder start() made for the socket
            Path(path).parent.rmdir()


# Command-line options with which Snakemake only looks at the workflow and runs no job.
_LOOK_ONLY = {
    "--dry-run", "--dryrun", "--lint", "--list-rules", "--list", "--list-target-rules", "--lt", "--summary",
    "--detailed-summary", "--dag", "--d3dag", "--rulegraph", "--filegraph", "--report", "--unlock",
    "--cleanup-metadata", "--cm", "--containerize", "--export-cwl", "--print-compilation", "--help", "--version",
}  # fmt: skip


def runs_jobs(argv: list[str]) -> bool:
    """Whether a Snakemake command line may run jobs (not a dry run, a listing, a graph, a lint, a report).
    Wrong only at a cost: a server started for nothing idles until Snakemake exits."""
    for arg in argv:
        name = arg.split("=", 1)[0]
        if name in _LOOK_ONLY or name in ("-n", "-l", "-S", "-D", "-h", "-v"):
            return False
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and arg[1:].isalpha() and "n" in arg:
            return False  # combined short flags such as -np
    return True


def start(owner: int) -> tuple[str, object] | None:
    """Start a server for Snakemake process `owner`; returns (socket path, process) or None."""
    import tempfile

    from critmet.lifeline import die_with_parent, token

    if os.environ.get(DISABLE_ENV):
        return None
    sweep_stale_folders(Path(tempfile.gettempdir()))
    # a folder of its own, mode 0700 (mkdtemp), holding a socket of mode 0600: no other user can reach it
    path = os.path.join(tempfile.mkdtemp(prefix=f"critmet-worker-{owner}-"), "worker.sock")
    proc = subprocess.Popen(
        [sys.executable, "-m", "critmet.worker", path, token(owner)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent if owner == os.getpid() else None,  # noqa: PLW1509 (no threads yet)
    )
    return path, proc


def stop(handle) -> None:
    if handle:
        path, proc = handle
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        Path(path).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            Path(path).parent.rmdir()


def sweep_stale_folders(tmp: Path) -> list[Path]:
    """Remove the socket folders of servers whose Snakemake process is gone (killed, so that neither it nor
    its server could clean up): this user's `critmet-worker-<pid>-*` folders whose pid no longer runs."""
    removed = []
    for folder in tmp.glob("critmet-worker-*-*"):
        try:
            owner = int(folder.name.split("-")[2])
            if folder.stat().st_uid != os.getuid() or _running(owner):
                continue
            for entry in folder.iterdir():
                entry.unlink()
            folder.rmdir()
            removed.append(folder)
        except (ValueError, OSError):
            continue
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
