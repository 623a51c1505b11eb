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
import os
import stat
import sys
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


def _write_failed(path: Path, tmp: Path, e: BaseException, keep: str):
    try:
        tmp.unlink()
    except OSError:
        pass
    os_err = os_error_in(e)
    why = cause(os_err) if os_err is not None else f"{type(e).__name__}: {e}"
    raise WriteError(
        f"{path}: cannot write in {path.parent}: {why}; {keep}".replace("\n", " ")
    ) from None


def atomic_write(path: Path, write, keep: str | None = None) -> None:
    """``write(f)`` into ``path.tmp`` (binary), fsync, rename over ``path``: a crash or a failed
    write leaves either the old file or the new one, never a part of one, and no ``.tmp``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    keep = keep or (f"the previous {path.name} is kept" if path.exists() else "nothing was written")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except KeyboardInterrupt:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    except (OSError, RuntimeError) as e:  # torch.save wraps the OSError in a RuntimeError
        if isinstance(e, RuntimeError) and os_error_in(e) is None:
            raise
        _write_failed(path, tmp, e, keep)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def append_line(path: Path, line: str) -> None:
    """Append one line; a failure cuts the file back to its old length (no half row) and raises
    WriteError."""
    path = Path(path)
    size = path.stat().st_size if path.exists() else 0
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line.rstrip("\n") + "\n")
            f.flush()
    except OSError as e:
        try:
            os.truncate(path, size)
        except OSError:
            pass
        raise WriteError(f"{path}: cannot write in {path.parent}: {cause(e)}") from None


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


def printable(text: str) -> str:
    """A file name that is not valid UTF-8 (kept by Python as surrogates) printed with escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def run_cli(fn, argv: list[str] | None = None, interrupted: str = "interrupted; nothing more"):
    """Call ``fn()``; on any failure print one line ``error: ...`` to stderr and exit with 2
    (130 on Ctrl-C). With ``--debug`` in the arguments the traceback is shown instead."""
    args = sys.argv[1:] if argv is None else argv
    if "--debug" in args:
        try:
            return fn()
        except SystemExit as e:
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
                raise SystemExit(2) from None
            raise
    try:
        return fn()
    except SystemExit as e:  # SystemExit("error: ..."): one line, status 2 (not Python's 1)
        if isinstance(e.code, str):
            text = printable(" ".join(e.code.split()))
            print(text if text.startswith("error:") else f"error: {text}", file=sys.stderr)
            raise SystemExit(2) from None
        raise
    except BrokenPipeError:  # `... | head`: the reader left; say it once, quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        print("error: the output was closed early (broken pipe)", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        _close_progress_bars()
        print(f"error: {interrupted} (Ctrl-C)", file=sys.stderr)
        raise SystemExit(130) from None
    except BaseException as e:  # one line, always
        _close_progress_bars()
        print(printable(f"error: {one_line(e)}"), file=sys.stderr)
        raise SystemExit(2) from None


def _close_progress_bars() -> None:
    """A progress bar left open by the failure would print itself again after the error line."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", None) or []):
        try:
            bar.close()
        except Exception:
            pass
