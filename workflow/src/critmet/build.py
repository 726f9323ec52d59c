"""The build entry point (`make report`, `make data`, `make figures`, and the build step of `make scheduled`).

`python -m critmet.build [--cores N] [target ...]`:

1. checks the inputs before anything runs (critmet.preflight): a problem is one line naming file, line,
   column or key, value and what was expected, and exit 1; no traceback;
2. takes this folder's build lock (`.snakemake/critmet-build.lock`, held for the whole build). If another
   build of this folder is alive (a `make report`, a `make scheduled`, or a `snakemake` started by hand),
   refuses with a message naming it (exit 3). A Snakemake lock left by a build that was killed is removed
   (only when no process holds it), so a killed build needs no `snakemake --unlock` by hand;
3. runs Snakemake, tied to this process: it dies with it (PR_SET_PDEATHSIG), and so do its jobs and the
   fork server (critmet.lifeline). Tracebacks go to `results/logs/build.log` only.

Before all this, a no-op is caught cheaply: after a successful build, `.snakemake/critmet-uptodate.json`
records every file Snakemake could consider (Snakefile, config/, data/, templates/, workflow/, profiles/,
environment.yml) and every file under results/, each by size, modification and change time (ns) and inode.
If the next build asks for the same targets and not one of these differs (nothing edited, added, removed,
touched or restored), it says so and exits 0 without starting Snakemake (about 1.5 s saved). Any difference,
or no record (a build that failed or was stopped removes it first), runs the whole build as above.

Exit codes: 0 built, 1 the build failed (bad input or a failed job), 3 another build of this folder runs.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

LOCK = Path(".snakemake") / "critmet-build.lock"
RESTORED_SLACK = 1.0  # seconds between a job's recorded end and its outputs' time stamps, at most


UPTODATE = Path(".snakemake") / "critmet-uptodate.json"
WATCHED = ("Snakefile", "environment.yml", "config", "data", "templates", "workflow", "profiles", "results")


class BuildBusy(RuntimeError):
    """Another build of this folder is running."""


# ---------------------------------------------------------------------------------------------- locking
def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def snakemake_processes(root: Path, exclude: set[int] = frozenset()) -> list[int]:
    """Live Snakemake processes working in `root` (the possible owners of its Snakemake lock)."""
    root = root.resolve()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude or int(entry.name) == os.getpid():
            continue
        try:
            if Path(os.readlink(entry / "cwd")).resolve() != root:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if state in ("Z", "X"):
            continue
        cmd = _cmdline(int(entry.name))
        if any(Path(part).name == "snakemake" or part.endswith("/snakemake/__main__.py") for part in cmd[:3]):
            if not any(flag in cmd for flag in ("--unlock", "-n", "--dry-run", "--summary", "-S", "--lint")):
                found.append(int(entry.name))
    return sorted(found)


def acquire(root: Path, who: str):
    """Take this folder's build lock and clear a stale Snakemake lock. Returns the open lock file (keep it
    open for the whole build); raises BuildBusy naming the build that is alive."""
    path = root / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 (held for the whole build)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise BuildBusy(
            f"another build of this folder is running ({holder}); wait for it to finish, or stop it first"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{who}, process {os.getpid()}\n")
    handle.flush()
    locks = root / ".snakemake" / "locks"
    if locks.is_dir() and any(locks.iterdir()):
        alive = snakemake_processes(root)
        if alive:
            handle.close()
            raise BuildBusy(
                f"another build of this folder is running (snakemake, process {alive[0]}); wait for it to "
                "finish, or stop it first"
            )
        for lock in locks.iterdir():
            lock.unlink(missing_ok=True)
        print("note: removed the Snakemake lock of a build that was killed (no process of it is left)")
    return handle


# --------------------------------------------------------------------------------------- stale outputs
def _record(root: Path, name: str) -> dict | None:
    try:
        return json.loads(_record_path(root, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _record_path(root: Path, name: str) -> Path:
    b64 = base64.urlsafe_b64encode(name.encode()).decode()
    parts = [b64[i : i + 254] for i in range(0, len(b64), 254)]
    return root / ".snakemake" / "metadata" / os.path.join(*(["@" + p for p in parts[:-1]] + [parts[-1]]))


REDO_MTIME = 1  # older than any input (Snakemake skips its time check for a time stamp of 0)
RESTORED_LINE = re.compile(r"Restored previous version of (\S+) \(updating job failed\)")


def redo_restored_outputs(root: Path, logs: list[Path] | None = None) -> list[str]:
    """Snakemake restores an update() output when its job fails, but records the failed job as if it had
    made it (with the new inputs' checksums), so the old content would pass as up to date. For every output
    that a recent run's log says was restored, and that no job has made since: forget that record and give
    the file a time stamp older than any input, so the next build redoes the job. Returns the outputs so treated."""
    if logs is None:
        folder = root / ".snakemake" / "log"
        logs = sorted(folder.glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)[-5:] if folder.is_dir() else []
    redone = []
    for log in logs:
        try:
            text = log.read_text(encoding="utf-8", errors="replace")
            ended = log.stat().st_mtime
        except OSError:
            continue
        for name in dict.fromkeys(RESTORED_LINE.findall(text)):
            path, record = root / name, _record(root, name)
            if not path.exists() or path.stat().st_mtime == REDO_MTIME:
                continue
            if record is not None and (record.get("endtime") or 0) > ended + RESTORED_SLACK:
                continue  # made again by a later job
            _record_path(root, name).unlink(missing_ok=True)
            os.utime(path, (REDO_MTIME, REDO_MTIME))
            redone.append(name)
    return redone


def mark_restored_outputs(root: Path, outputs) -> list[str]:
    """Outputs that Snakemake restored after a failed job (update()) carry the content of an older run but a
    new time stamp, so they would look up to date. Give each the time stamp of the run that made it: its
    inputs, edited since, are then newer, and Snakemake redoes the job. Returns the outputs so marked."""
    marked = []
    for name in outputs:
        path = root / name
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        record = _record(root, name)
        if not record or not record.get("endtime") or not record.get("starttime"):
            continue
        if mtime > record["endtime"] + RESTORED_SLACK:
            os.utime(path, (record["starttime"], record["starttime"]))
            marked.append(name)
    return marked


def remove_partial_writes(root: Path) -> list[Path]:
    """The temporary files of writes a killed build left half done (critmet.io.atomic_write_bytes writes
    `.<name>.<random>.tmp` beside its target and renames it; a SIGKILL between the two leaves it). Called with
    the folder lock held, so no writer of this project is running."""
    stale = [p for p in (root / "results").rglob(".*.tmp") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


# ------------------------------------------------------------------------------------------ no-op check
def snapshot(root: Path) -> dict[str, list[int]]:
    """Every input Snakemake could consider and every output, each as [size, mtime_ns, ctime_ns, inode]. Any
    write changes the times (and a replaced file its inode): a cheap fingerprint that is still exact about
    whether a file was touched. Python's __pycache__ folders are left out."""
    found: dict[str, list[int]] = {}
    for name in WATCHED:
        top = root / name
        tops = [(str(top.parent), [], [name])] if top.is_file() else os.walk(top)
        for dirpath, dirnames, filenames in tops:
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for filename in filenames:
                path = os.path.join(dirpath, filename)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                found[os.path.relpath(path, root)] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    return found


def up_to_date(root: Path, targets: list[str]) -> bool:
    """True if the last successful build made `targets` and no watched file changed since."""
    try:
        record = json.loads((root / UPTODATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record.get("targets") == targets and record.get("files") == snapshot(root)


def forget_up_to_date(root: Path) -> None:
    (root / UPTODATE).unlink(missing_ok=True)


def record_up_to_date(root: Path, targets: list[str]) -> None:
    from critmet.io import atomic_write_text  # here, not at the top: the no-op check stays light

    atomic_write_text(root / UPTODATE, json.dumps({"targets": targets, "files": snapshot(root)}))


# ------------------------------------------------------------------------------------------------ runs
def run_snakemake(root: Path, args: list[str], log, echo=None) -> int:
    """Snakemake in `root`, dying with this process. Everything goes to `log`; lines that are not part of a
    Python traceback also to `echo` (the terminal)."""
    from critmet.lifeline import die_with_parent

    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "MPLBACKEND": "Agg"}
    env.pop("CRITMET_OWNER", None)
    env["PYTHONUNBUFFERED"] = "1"  # Snakemake's progress reaches the terminal and the log as it happens
    proc = subprocess.Popen(
        [str(bin_dir / "snakemake"), *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        preexec_fn=die_with_parent,  # noqa: PLW1509 (single-threaded here)
    )
    hidden = None  # the kind of block being kept out of the terminal
    for raw in proc.stdout:
        line = raw.decode(errors="replace")
        log.write(line)
        log.flush()
        if echo is None:
            continue
        if line.startswith("Traceback (most recent call last)"):
            hidden = "traceback"
        elif line.startswith(("RuleException:", "WorkflowError:", "CalledProcessError")):
            hidden = "snakemake"
        elif line.startswith("Error in rule "):
            hidden = "details"
        elif hidden == "traceback" and not line.startswith((" ", "\t")):
            hidden = None  # the exception line closes the traceback: shown, it is the message
        elif hidden == "snakemake" and (not line.strip() or line.startswith(("[", "Error in rule"))):
            hidden = None
        elif hidden == "details" and not line.startswith((" ", "\t")):
            hidden = None
        if hidden == "details" and (line.startswith("Error in rule ") or line.strip().startswith("log:")):
            echo.write(line)
        elif hidden is None and not re.match(r'^\s+File ".*", line \d+, in ', line):
            echo.write(line)
        echo.flush()
    return proc.wait()


def main(argv: list[str] | None = None) -> int:
    from critmet.lifeline import die_with_parent

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=".", help="the project folder")
    parser.add_argument("--cores", default="2")
    parser.add_argument("--log", default="results/logs/build.log")
    parser.add_argument("targets", nargs="*", default=["all"])
    args = parser.parse_args(argv)
    die_with_parent()  # `make report` killed: this build stops too
    root = Path(args.root).resolve()
    if up_to_date(root, args.targets):
        print(f"nothing to do: no input or output changed since the last build of {' '.join(args.targets)}")
        return 0
    from critmet.preflight import PreflightError, one_line, preflight
    from critmet.validate import RawDataError

    try:
        preflight(root)
    except (PreflightError, RawDataError) as err:
        print(f"error: {one_line(err, root)}", file=sys.stderr)
        print("nothing was built; every earlier output is unchanged", file=sys.stderr)
        return 1
    try:
        lock = acquire(root, f"a build started by 'python -m critmet.build {' '.join(args.targets)}'")
    except BuildBusy as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    with lock:
        forget_up_to_date(root)
        remove_partial_writes(root)
        log_path = root / args.log
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w", encoding="utf-8") as log:
            code = run_snakemake(
                root,
                ["--cores", args.cores, "--rerun-incomplete", "--printshellcmds", "--nocolor", *args.targets],
                log,
                echo=sys.stdout,
            )
        if code == 0:
            record_up_to_date(root, args.targets)
    if code != 0:
        print(f"build failed (the full log, with any traceback: {args.log})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
