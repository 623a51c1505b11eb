"""Files a user hands us, and files we write.

* ``check_regular(path)``: a FIFO, device, socket or folder where a file is expected is refused by
  name *before* anything opens it (opening a FIFO for reading blocks until a writer comes: forever).
* ``read_text(path)``: UTF-8 with an optional BOM dropped; every failure names the file.
* ``atomic_write(path, write)``: a temporary file beside ``path``, fsync'ed, then renamed over it.
  A failure (disk full, read-only folder, no permission) removes the temporary file, leaves the old
  ``path`` as it was, and raises ``WriteError`` naming the folder and the cause in one line.
* ``one_line(err)`` / ``run_cli(fn)``: how every command line of the project ends on a failure:
  ``error: <file>: <what is wrong>`` on stderr, exit status 2, a traceback only with ``--debug``.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import signal
import stat
import sys
import tempfile
from pathlib import Path

CAUSES = {
    errno.ENOSPC: "disk full (no space left on device)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.ENAMETOOLONG: "name too long",
    errno.ENOENT: "no such file or folder",
    errno.EIO: "input/output error (a failing disk or a lost network drive?)",
    errno.EEXIST: "already exists",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EMFILE: "too many open files",
    errno.EFBIG: "file too large for this file system",
}


class WriteError(OSError):
    """A file we could not write; the message names it, its folder and the cause."""


def cause(e: OSError) -> str:
    return CAUSES.get(e.errno, e.strerror or str(e) or type(e).__name__)


def os_error_in(e: BaseException) -> OSError | None:
    """The OSError behind an exception (torch wraps a failed write in a RuntimeError)."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, OSError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def file_kind(st: os.stat_result) -> str:
    for test, name in KINDS:
        if test(st.st_mode):
            return name
    return "not a regular file"


def check_regular(path: Path, what: str = "file", error=FileNotFoundError) -> os.stat_result:
    """``os.stat`` (which never opens the file) and a refusal of anything but a regular file,
    naming the path and what it is. ``error``: the exception class to raise."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise error(f"{path}: a symbolic link to nothing (broken link)") from None
        raise error(f"{path}: {what} not found") from None
    except OSError as e:
        raise error(f"{path}: cannot read ({cause(e)})") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: is {file_kind(st)}, not a {what}; refusing to open it")
    return st


def read_bytes(path: Path, what: str = "file", error=FileNotFoundError) -> bytes:
    check_regular(path, what, error)
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise error(f"{path}: cannot read ({cause(e)})") from None


def read_text(path: Path, what: str = "file", error=FileNotFoundError) -> str:
    """UTF-8 text (a leading BOM dropped; CRLF left to ``splitlines``), every failure named."""
    raw = read_bytes(path, what, error)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise error(
            f"{path}: not UTF-8 text (byte {raw[e.start]:#04x} on line {line}); save it as UTF-8"
        ) from None


def _write_failed(path: Path, tmp: Path | None, e: BaseException, keep: str):
    _remove(tmp)
    os_err = os_error_in(e)
    why = cause(os_err) if os_err is not None else f"{type(e).__name__}: {e}"
    raise WriteError(
        f"{path}: cannot write in {path.parent}: {why}; {keep}".replace("\n", " ")
    ) from None


def _remove(tmp: Path | None) -> None:
    if tmp is not None:
        try:
            tmp.unlink()
        except OSError:
            pass


def temp_name(path: Path) -> str:
    """The prefix of the temporary files ``atomic_write`` makes for ``path`` (a random part and
    ``.tmp`` follow): hidden, and never a name a user's own file has by chance."""
    return f".{Path(path).name}."


def is_temp_of(name: str, final: str) -> bool:
    """Whether ``name`` is one of ``atomic_write``'s temporary files for a file named ``final``."""
    prefix = temp_name(Path(final))
    return name.startswith(prefix) and name.endswith(".tmp") and len(name) > len(prefix) + 4


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Give the finished temporary file its final name. ``overwrite``: replace whatever has that
    name (``os.replace``: a link there is replaced, never written through). Otherwise the name
    must be free: a hard link fails with EEXIST if anything has it, even a dangling link."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as e:  # a file system without hard links (FAT, some network drives)
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "already exists", str(path)) from None
        os.replace(tmp, path)
        return
    _remove(tmp)


def atomic_write(path: Path, write, keep: str | None = None, overwrite: bool = True) -> None:
    """``write(f)`` into a new temporary file beside ``path`` (binary), fsync, then give it the
    name ``path``: a crash or a failed write leaves either the old file or the new one, never a
    part of one, and no temporary file.

    The temporary file is created exclusively (``mkstemp``: O_CREAT|O_EXCL|O_NOFOLLOW, a random
    name), so nothing already there, a link least of all, is ever written through. With
    ``overwrite=False`` the final name must be free: a file (or link, or anything) that appeared
    there is refused with WriteError, not replaced."""
    path = Path(path)
    keep = keep or (
        f"the previous {path.name} is kept" if os.path.lexists(path) else "nothing was written"
    )
    tmp = None
    try:
        fd, name = tempfile.mkstemp(prefix=temp_name(path), suffix=".tmp", dir=path.parent)
        tmp = Path(name)
        os.fchmod(fd, 0o666 & ~_umask())  # as open() would make it (mkstemp: 0600)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _publish(tmp, path, overwrite)
    except FileExistsError:
        _remove(tmp)
        raise WriteError(
            f"{path}: appeared while it was being written (another process?); it is left as it "
            "is and nothing replaced it"
        ) from None
    except BaseException as e:  # torch.save wraps the OSError in a RuntimeError
        if not isinstance(e, (OSError, RuntimeError)) or (
            isinstance(e, RuntimeError) and os_error_in(e) is None
        ):
            _remove(tmp)
            raise
        _write_failed(path, tmp, e, keep)


def atomic_write_text(path: Path, text: str, overwrite: bool = True) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")), overwrite=overwrite)


def json_safe(obj):
    """``obj`` with every non-finite float (NaN, +-Infinity) as None: JSON has no such numbers,
    and strict parsers refuse Python's ``NaN``/``Infinity``. None means "no such value" (a best
    score before any labelled validation, a mean over no steps)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def json_text(obj, **kw) -> str:
    """Strict JSON (``allow_nan=False``): non-finite numbers written as null (``json_safe``)."""
    return json.dumps(json_safe(obj), allow_nan=False, **kw)


def append_line(path: Path, line: str) -> None:
    """Append one line; a failure cuts the file back to its old length (no half row) and raises
    WriteError. A link at ``path`` is refused (O_NOFOLLOW), never appended through."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | NOFOLLOW, 0o666)
    except OSError as e:
        why = (
            "a symbolic link; refusing to write through it" if e.errno == errno.ELOOP else cause(e)
        )
        raise WriteError(f"{path}: cannot write in {path.parent}: {why}") from None
    size = os.fstat(fd).st_size
    try:
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line.rstrip("\n") + "\n")
            f.flush()
    except OSError as e:
        try:
            os.truncate(path, size)
        except OSError:
            pass
        raise WriteError(f"{path}: cannot write in {path.parent}: {cause(e)}") from None


NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def make_folder(path: Path, what: str = "folder") -> Path:
    """``mkdir -p`` with a one-line error (a file in the way, read-only, no permission)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise WriteError(f"{path}: exists and is a file, not a folder; choose another {what}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"{path}: cannot create this {what}: {cause(e)}") from None
    return path


# --- the command lines' one-line errors -------------------------------------------------------
PACKAGES = tuple(
    str(Path(__file__).resolve().parents[1] / p) + os.sep
    for p in ("redo_lite", "beyond", "course", "data_prep")
)


def _raised_by_us(err: BaseException) -> bool:
    """Whether the project's own code raised ``err`` (its message then names the file)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.startswith(PACKAGES)


def one_line(err: BaseException) -> str:
    """The text after ``error:`` for any failure: our own errors already name their file; an
    OSError is named by its file and cause; a torch/torchvision pair that does not import is named
    with its fix; anything else is an unexpected failure."""
    from .versions import is_pair_failure, mismatch_line

    if is_pair_failure(err):
        msg = mismatch_line(f"{type(err).__name__}: {err}")
    elif isinstance(err, OSError) and not isinstance(err, WriteError) and err.filename is not None:
        msg = f"{err.filename}: {cause(err)}"
    elif isinstance(err, OSError) and not _raised_by_us(err) and err.errno is not None:
        msg = f"{cause(err)}"
    elif _raised_by_us(err) and isinstance(err, (ValueError, OSError, KeyError, RuntimeError)):
        msg = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    else:
        msg = (
            f"unexpected {type(err).__name__}: {err} "
            "(run again with --debug for the traceback, and report it)"
        )
    return " ".join(msg.split()) or type(err).__name__


# control characters (C0, DEL, C1) and the Unicode ones that reorder or hide text: in a file name
# they could move the cursor, clear the line or recolour the terminal; printed as escapes instead
CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def printable(text: str) -> str:
    """Text safe to print on a terminal: a name that is not valid UTF-8 (kept by Python as
    surrogates) and every control character (an escape code in a file name) as escapes
    (``\\x1b``); tabs and newlines are left to the caller (``one_line`` folds them)."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def say(text: str) -> None:
    """One line on stderr, control characters escaped (``printable``)."""
    print(printable(text), file=sys.stderr, flush=True)


class StdoutError(WriteError):
    """Writing to standard output failed (a full disk behind ``> file``, a closed terminal)."""


# what a stream wrapper escapes: CONTROL but the carriage return a progress bar redraws with
STREAM_CONTROL = re.compile(CONTROL.pattern.replace("\x0b-\x1f", "\x0b\x0c\x0e-\x1f"))


class _Guarded:
    """sys.stdout or sys.stderr while a command runs: every control character written (a file
    name's escape codes, in any message or progress line) printed as an escape, and, for
    standard output, a failed write named as such (an OSError from ``print`` names no file:
    "error: disk full" alone would not say which output)."""

    def __init__(self, stream, name: str | None):
        self._stream, self._name = stream, name

    def _named(self, fn, *args):
        try:
            return fn(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            if self._name is None:
                raise
            raise StdoutError(f"{self._name}: cannot write: {cause(e)}") from None

    def write(self, text):
        text = STREAM_CONTROL.sub(
            lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text)
        )
        return self._named(self._stream.write, text)

    def flush(self):
        return self._named(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler, ``timeout``, ``kill``): handled as Ctrl-C is, so that what Ctrl-C
    saves is saved."""


def _on_sigterm(signum, frame):
    raise Terminated()


def sigterm_as_interrupt() -> None:
    """From now on SIGTERM raises ``Terminated`` (a KeyboardInterrupt) in the main thread."""
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main thread
        pass


def run_cli(fn, argv: list[str] | None = None, interrupted="interrupted; nothing more"):
    """Call ``fn()``; on any failure print one line ``error: ...`` to stderr and exit with 2
    (130 on Ctrl-C, 143 on SIGTERM, which is handled as Ctrl-C: what Ctrl-C saves is saved). With
    ``--debug`` in the arguments the traceback is shown instead. ``interrupted``: what to say on
    an interrupt, or a function returning it (the command knows what it kept). Every line is
    printed with its control characters escaped; a failed write to standard output says so."""
    args = sys.argv[1:] if argv is None else argv
    sigterm_as_interrupt()
    real = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Guarded(real[0], "standard output"), _Guarded(real[1], None)
    try:
        return _run(fn, args, interrupted)
    finally:
        sys.stdout, sys.stderr = real


def _run(fn, args, interrupted):
    if "--debug" in args:
        try:
            return _flushed(fn)
        except SystemExit as e:
            if isinstance(e.code, str):
                say(e.code)
                raise SystemExit(2) from None
            raise
    try:
        return _flushed(fn)
    except SystemExit as e:  # SystemExit("error: ..."): one line, status 2 (not Python's 1)
        if isinstance(e.code, str):
            text = " ".join(printable(e.code).split())
            say(text if text.startswith("error:") else f"error: {text}")
            raise SystemExit(2) from None
        raise
    except BrokenPipeError:  # `... | head`: the reader left; say it once, quietly
        _silence_stdout()
        say("error: standard output was closed early (broken pipe)")
        raise SystemExit(2) from None
    except KeyboardInterrupt as e:
        _close_progress_bars()
        what = interrupted() if callable(interrupted) else interrupted
        how = "SIGTERM" if isinstance(e, Terminated) else "Ctrl-C"
        say(f"error: {' '.join(printable(what).split())} ({how})")
        raise SystemExit(143 if isinstance(e, Terminated) else 130) from None
    except BaseException as e:  # one line, always
        _close_progress_bars()
        if isinstance(e, StdoutError):
            _silence_stdout()
        say(" ".join(printable(f"error: {one_line(e)}").split()))
        raise SystemExit(2) from None


def _flushed(fn):
    """``fn()``, then standard output flushed inside the guard: a full disk behind ``> out.json``
    is reported here, not by Python at exit as an ignored exception."""
    result = fn()
    sys.stdout.flush()
    return result


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null: what is still buffered cannot fail again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
    except (OSError, AttributeError, ValueError):
        pass


def _close_progress_bars() -> None:
    """A progress bar left open by the failure would print itself again after the error line."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", None) or []):
        try:
            bar.close()
        except Exception:
            pass
