"""A run folder, and only what ``train`` made in it.

::

    RUN/redo_run.json   the marker: made by redo_lite train; the data the run trains on (its folder
                        and a fingerprint of its splits) and its seed
    RUN/redo_run.lock   while a process trains here: its PID, host and command (flock'ed)
    RUN/config.json  last.pt  best.pt  metrics.jsonl

``open_run`` is the one door: a new or empty folder becomes a run folder; a folder with the marker
is one; a folder that holds only files with these names and a valid ``config.json`` (a run made
before the marker existed) is adopted; **anything else is refused** and nothing in it is touched.
Then the lock: a second process on a busy run folder is refused with the owner's PID; a lock left
by a process that is gone (killed, machine restarted) is stale and taken over, with a note. Last,
the inputs: a resume with other data (another fingerprint) or another seed is refused, naming both.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path

from .files import (
    WriteError,
    atomic_write_text,
    cause,
    check_regular,
    is_temp_of,
    make_folder,
    read_text,
)

try:
    import fcntl
except ImportError:  # Windows: the PID in the lock file alone decides
    fcntl = None

MARKER = "redo_run.json"
LOCK = "redo_run.lock"
MADE_BY = "redo_lite train"
OWNED = {"config.json", "last.pt", "best.pt", "metrics.jsonl", MARKER, LOCK}
TEMPS = {name + ".tmp" for name in OWNED}  # the temporary names of earlier versions


def our_temp(name: str) -> bool:
    """A temporary file of a write of ours cut short (``files.atomic_write``'s, or the fixed
    ``<name>.tmp`` of earlier versions), by its name."""
    return name in TEMPS or any(is_temp_of(name, own) for own in OWNED)


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked; the message names it and why."""


def _note(message: str) -> None:
    from .data import note

    note(message)


# --- ownership ----------------------------------------------------------------------------------
def read_marker(run: Path) -> dict | None:
    path = Path(run) / MARKER
    if not (path.exists() or path.is_symlink()):
        return None
    text = read_text(path, "run marker", RunFolderError)
    try:
        marker = json.loads(text)
    except json.JSONDecodeError as e:
        raise RunFolderError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(marker, dict) or marker.get("made_by") != MADE_BY:
        raise RunFolderError(f"{path}: not a redo_lite run marker (no made_by {MADE_BY!r})")
    return marker


def owned(run: Path) -> str:
    """'new', 'empty', 'marked' or 'legacy' for a folder ``train`` may write in; RunFolderError
    (naming the folder and an example of what is in it) for any other."""
    run = Path(run)
    if not run.exists() and not run.is_symlink():
        return "new"
    if not run.is_dir():
        raise RunFolderError(f"{run}: exists and is not a folder; choose another --out")
    try:
        entries = sorted(os.listdir(run))
    except OSError as e:
        raise RunFolderError(f"{run}: cannot list this folder ({cause(e)})") from None
    if not entries:
        return "empty"
    for name in OWNED & set(entries):  # ours by name: a FIFO there would hang the first read
        check_regular(run / name, "file", RunFolderError)
    if MARKER in entries:
        read_marker(run)
        return "marked"
    foreign = [e for e in entries if e not in OWNED and not our_temp(e)]
    if not foreign and all(e == LOCK or our_temp(e) for e in entries):
        return "empty"  # a first start cut short before it wrote its marker
    if not foreign and "config.json" in entries:
        from .config import Config

        try:
            Config.load(run / "config.json")
            return "legacy"
        except (ValueError, OSError):
            pass
    example = (foreign or entries)[0]
    raise RunFolderError(
        f"{run}: not a redo_lite run folder (it holds {len(entries)} item(s), e.g. {example!r}, "
        f"and no {MARKER}); train writes only into a new or empty folder or one of its own run "
        "folders: choose another --out"
    )


# --- the lock -----------------------------------------------------------------------------------
def _proc_start(pid: int) -> str | None:
    """When a process started (Linux), so that a reused PID is not taken for the owner."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    now = _proc_start(pid)
    return start is None or now is None or now == start


def _describe(owner: dict) -> str:
    since = owner.get("since")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(since)) if since else "?"
    return f"process {owner.get('pid')} on {owner.get('host')} since {when} ({owner.get('cmd')})"


_HELD: dict[str, RunLock] = {}


class RunLock:
    """The file ``RUN/redo_run.lock``: an exclusive flock held while the process lives, and the
    owner's PID, host, start time and command line written in it for the messages."""

    def __init__(self, run: Path, name: str = LOCK, what: str = "run folder"):
        self.path = Path(run) / name
        self.what = what  # "run folder", "output folder": for the messages
        self.fd: int | None = None
        self.count = 0  # holders in this process (a notebook makes a new Trainer per run of a cell)

    def _read(self, fd: int) -> dict:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            return json.loads(os.read(fd, 65536).decode("utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> RunLock:
        key = os.path.realpath(self.path)
        if key in _HELD:  # this process holds it already (a notebook cell run again)
            _HELD[key].count += 1
            return _HELD[key]
        if self.path.exists() or self.path.is_symlink():
            check_regular(self.path, "lock file", RunFolderError)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as e:
            raise WriteError(
                f"{self.path.parent}: cannot write in this folder ({cause(e)})"
            ) from None
        locked = False
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except BlockingIOError:
                owner = self._read(fd)
                os.close(fd)
                notebook = (
                    " (a notebook's kernel keeps it until trainer.close() or a restart)"
                    if self.what == "run folder"
                    else ""
                )
                raise RunFolderError(
                    f"{self.path}: this {self.what} is in use by {_describe(owner)}; wait for it "
                    f"to finish or stop it{notebook}"
                ) from None
            except OSError:  # a file system without flock: the PID decides below
                pass
        owner = self._read(fd)
        pid = owner.get("pid")
        if isinstance(pid, int) and pid != os.getpid():
            same_host = owner.get("host") == socket.gethostname()
            if not locked and (not same_host or _alive(pid, owner.get("start"))):
                os.close(fd)
                raise RunFolderError(
                    f"{self.path}: this {self.what} is in use by {_describe(owner)}; if that "
                    "process is gone, delete this file"
                )
            _note(
                f"{self.path}: taking over a stale lock of {_describe(owner)}, which is no longer "
                "running"
            )
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "start": _proc_start(os.getpid()),
            "since": time.time(),
            "cmd": " ".join([Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]])[
                :300
            ],
        }
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, (json.dumps(me) + "\n").encode("utf-8"))
            os.fsync(fd)
        except OSError as e:
            os.close(fd)
            raise WriteError(
                f"{self.path}: cannot write in {self.path.parent}: {cause(e)}"
            ) from None
        self.fd, self.count = fd, 1
        _HELD[key] = self
        return self

    def release(self, all_holders: bool = False) -> None:
        if self.fd is None:
            return
        self.count -= 1
        if self.count > 0 and not all_holders:
            return
        _HELD.pop(os.path.realpath(self.path), None)
        try:
            if self._read(self.fd).get("pid") == os.getpid():
                self.path.unlink()
        except OSError:
            pass
        try:
            os.close(self.fd)  # closing drops the flock
        except OSError:
            pass
        self.fd = None


@atexit.register
def _release_all():
    for lock in list(_HELD.values()):
        lock.release(all_holders=True)


def lock_output(out: Path, name: str, command: str) -> RunLock:
    """One writer per output folder (``segment``, ``self-train``, ``demo``): ``OUT/<name>``
    flock'ed while ``command`` writes there, as ``train`` locks its run folder; a second process
    is refused with a line naming the first. The folder must exist. Released at exit."""
    lock = RunLock(out, name, what=f"{command} output folder")
    return lock.acquire()


# --- the one door -------------------------------------------------------------------------------
class RunFolder:
    """A claimed, locked run folder. ``seed``: the run's seed (recorded, or the one given)."""

    def __init__(self, path: Path, lock: RunLock | None, state: str):
        self.path, self.lock, self.state = Path(path), lock, state
        self.main = lock is not None  # the process that writes (rank 0 of a multi-process run)
        self.seed: int | None = None

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    @contextlib.contextmanager
    def released_on_error(self):
        """Let the folder go if what follows fails (a refused resume must not keep it locked)."""
        try:
            yield self
        except BaseException:
            self.release()
            raise

    def record_inputs(self, data_dir, fingerprint: dict, seed: int | None) -> int:
        """Record (new run) or check (resume) the data and the seed; returns the seed to use.
        A run made before runs recorded their inputs records them now, with a note."""
        path = self.path / MARKER
        marker = read_marker(self.path) or {"made_by": MADE_BY, "format": 1}
        data = str(Path(data_dir).resolve())
        was = marker.get("inputs")
        if not self.main:  # another process of a multi-process run: rank 0 checks and writes
            recorded = was.get("seed") if isinstance(was, dict) else None
            self.seed = seed if seed is not None else (recorded if recorded is not None else 0)
            return self.seed
        if isinstance(was, dict):
            if was.get("fingerprint") != fingerprint:
                raise RunFolderError(
                    f"{path}: this run trains on {was.get('data')} "
                    f"({_fp(was.get('fingerprint'))}), not on {data} ({_fp(fingerprint)}); "
                    "resume it with its own --data, or choose another --out for a new run"
                )
            if seed is not None and seed != was.get("seed"):
                raise RunFolderError(
                    f"{path}: this run was started with seed {was.get('seed')}, not {seed}; "
                    f"resume it with --seed {was.get('seed')} (or without --seed), or choose "
                    "another --out for a new run"
                )
            if was.get("data") != data:  # noted, not rewritten: a refused resume changes nothing
                _note(
                    f"{path}: the same data as before, now at {data} (recorded: {was.get('data')})"
                )
            self.seed = was.get("seed", 0)
            return self.seed
        if self.state == "legacy":
            _note(f"{self.path}: a run made before runs recorded their data; recording it now")
        last = self.path / "last.pt"
        if last.exists():  # a run without a record: its seed is in its checkpoint
            from .checkpoint import load

            saved = load(last).get("seed")
            if isinstance(saved, int) and seed is not None and seed != saved:
                raise RunFolderError(
                    f"{last}: this run was started with seed {saved}, not {seed}; resume it with "
                    f"--seed {saved} (or without --seed), or choose another --out for a new run"
                )
            seed = saved if isinstance(saved, int) else seed
        self.seed = 0 if seed is None else seed
        marker["inputs"] = {"data": data, "fingerprint": fingerprint, "seed": self.seed}
        atomic_write_text(path, json.dumps(marker, indent=2) + "\n")
        return self.seed


def _fp(fingerprint) -> str:
    if not isinstance(fingerprint, dict):
        return "no fingerprint"
    parts = [
        f"{split} {v.get('images')} images, fingerprint {str(v.get('hash'))[:12]}"
        for split, v in sorted(fingerprint.items())
        if isinstance(v, dict)
    ]
    return "; ".join(parts) or "no images"


def open_run(run_dir, main: bool = True) -> RunFolder:
    """Claim ``run_dir`` for training (see the module docstring): checked, created, locked and
    marked, and the temporary files of a write cut short (ours only, by name) removed. Other
    processes of a multi-process run (``main=False``) only check it."""
    run = Path(run_dir)
    state = owned(run)
    if not main:
        return RunFolder(run, None, state)
    make_folder(run, "--out folder")
    lock = RunLock(run).acquire()
    try:
        state = owned(run) if state != "new" else state  # as it is now that we hold it
        if state in ("new", "empty"):  # a run made before markers is marked once its inputs pass
            marker = {"made_by": MADE_BY, "format": 1, "created": time.strftime("%Y-%m-%d %H:%M")}
            atomic_write_text(run / MARKER, json.dumps(marker, indent=2) + "\n")
        for name in os.listdir(run):  # a write of ours cut short by a crash
            tmp = run / name
            if our_temp(name) and tmp.is_file() and not tmp.is_symlink():
                tmp.unlink()
    except BaseException:
        lock.release()
        raise
    return RunFolder(run, lock, state)
