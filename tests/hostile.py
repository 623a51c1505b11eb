"""The hostile-input table's machinery: the sandbox, the setup and check vocabulary that
``tests/hostile_cases.toml`` uses, and the runner (``tests/test_hostile.py`` runs the table).

A case builds a sandbox (a tiny colored-2-MNIST folder ``data/``, a tiny trained run ``run/``, a
folder of the user's photos ``photos/``), plants one hostile thing in it (``setup``), runs one
command (``python -m redo_lite ...`` or ``python -m data_prep.X ...``) and checks what a user must
be able to count on:

* a refusal exits with status 2 (``code``), with exactly one line ``error: ...`` on stderr (the
  last one; any other line is a ``note:``), naming what it should (``says``), with no traceback;
* a case that should work exits with 0, with no traceback, and does what it should (``check``);
* an interrupted command exits with 130 and keeps its promise (``check``);
* no hang (a time limit per case); no file of the user's changed (the sandbox is hashed before
  and after: for a refusal nothing at all may change in it, else what ``keeps`` names); no
  temporary file (``*.tmp``, ``*.part``) left anywhere.

A row's ``setup``, ``check`` and ``interrupt`` are Python expressions over the names below, with
``S`` the sandbox (a ``Path``); a value that is a function is called (``setup(S)``,
``check(S, stdout, stderr)``, ``interrupt(S)``: True when to send the signal). Commands run in
this process (fast: no interpreter and no torch import per case) unless a row says
``subprocess = true`` or needs one (a signal, a mount); waits are on conditions, never on time.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).with_name("hostile_cases.toml")
PY = sys.executable
TINY = [
    "--preset", "tiny", "--threads", "1", "--set", "eval_every=2", "--set", "log_every=1",
]  # fmt: skip
TINY2 = [*TINY, "--set", "regions=2"]  # the same, 2 regions (the hand-made folders)


def env() -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "TQDM_DISABLE": "1",
        "PYTHONWARNINGS": "ignore",
    }


# --- the sandbox ----------------------------------------------------------------------------------
def rgb(h, w, seed=0):
    import numpy as np

    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def save(arr, path: Path, **kw):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **kw)
    return path


def hand_made(
    root: Path, n=6, img_ext=".png", mask_ext=".png", stems=None, splits=True, h=20, w=20
):
    """A small 2-region data folder in the on-disk format, written by hand as a user would."""
    import numpy as np

    stems = stems or [f"s{i}" for i in range(n)]
    for i, stem in enumerate(stems):
        save(rgb(h, w, i), root / "images" / f"{stem}{img_ext}")
        m = np.zeros((h, w), np.uint8)
        m[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 1
        if mask_ext:
            save(m, root / "masks" / f"{stem}{mask_ext}")
    if splits:
        k = len(stems)
        parts = {"train": stems[: k - 2], "val": stems[k - 2 : k - 1], "test": stems[k - 1 :]}
        (root / "splits").mkdir(parents=True, exist_ok=True)
        for name, lst in parts.items():
            (root / "splits" / f"{name}.txt").write_text("".join(s + "\n" for s in lst))
    return root


def exif_photo(path: Path, w=24, h=16, orientation=6):
    """A JPEG stored w x h with an EXIF orientation tag (6: shown rotated, as h x w)."""
    from PIL import Image

    img = Image.fromarray(rgb(h, w, 7))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, exif=exif.tobytes(), quality=95)
    return path


def build_template(dest: Path) -> Path:
    """data/ (c2mnist 16 px), run/ (2 steps on it), photos/ (three of the user's images)."""
    subprocess.run(
        [PY, "-m", "data_prep.c2mnist", "--out", str(dest / "data"), "--size", "16",
         "--train", "24", "--val", "8", "--test", "8"],
        check=True, env=env(), capture_output=True, cwd=ROOT,
    )  # fmt: skip
    subprocess.run(
        [PY, "-m", "redo_lite", "train", "--data", str(dest / "data"), "--out",
         str(dest / "run"), "--steps", "2", *TINY],
        check=True, env=env(), capture_output=True, cwd=ROOT,
    )  # fmt: skip
    save(rgb(20, 30, 1), dest / "photos" / "a.png")
    save(rgb(9, 7, 2), dest / "photos" / "b.jpg")
    save(rgb(12, 12, 3), dest / "photos" / "c d.png")
    return dest


def snapshot(root: Path) -> dict:
    """path -> (kind, content hash or link target) for everything under root, never opening
    anything but regular files (a FIFO must not be opened)."""
    out = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(top, name)
            st = os.lstat(p)
            rel = str(p.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", "")
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode))
        dirs[:] = [d for d in dirs if not os.path.islink(Path(top, d))]
    return out


# --- the cases ------------------------------------------------------------------------------------


def rl(*args):
    return ["rl", *args]


def dp(script, *args):
    return [f"dp.{script}", *args]


def write(rel, content: bytes | str):
    def setup(S):
        p = S / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)

    return setup


def fifo(rel):
    def setup(S):
        p = S / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.exists():
            p.unlink()
        os.mkfifo(p)

    return setup


def both(*fns):
    def setup(S):
        cleanups = [f(S) for f in fns if f]
        cleanups = [c for c in cleanups if callable(c)]
        return (lambda: [c() for c in cleanups]) if cleanups else None

    return setup


def mount_tmpfs(rel, extra_kb=0, copy=None, ro=False, size_kb=None):
    """A tmpfs at S/rel (root only): ``copy`` (a path under S) copied in; sized to what it holds
    plus ``extra_kb``; remounted read-only with ``ro``."""

    def setup(S):
        mnt = S / rel
        mnt.mkdir(parents=True, exist_ok=True)
        used = 0
        if copy:
            used = sum(f.stat().st_size for f in (S / copy).rglob("*") if f.is_file())
        kb = size_kb or (used // 1024 + 64 + extra_kb)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(mnt)], check=True)
        if copy:
            shutil.copytree(S / copy, mnt / Path(copy).name)
        if ro:
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        return lambda: subprocess.run(["umount", "-l", str(mnt)], check=False)

    return setup


def hold_lock(rel):
    """Another process training in S/rel: it holds the run folder's lock until killed."""

    def setup(S):
        code = (
            "import sys, time; from redo_lite.runfolder import RunLock; "
            f"RunLock({str(S / rel)!r}).acquire(); print('ready', flush=True); time.sleep(300)"
        )
        proc = subprocess.Popen([PY, "-c", code], env=env(), stdout=subprocess.PIPE, cwd=ROOT)
        proc.stdout.readline()
        return lambda: (proc.kill(), proc.wait())

    return setup


def stale_lock(rel):
    def setup(S):
        dead = subprocess.Popen([PY, "-c", "pass"])
        dead.wait()
        (S / rel / "redo_run.lock").write_text(
            json.dumps({"pid": dead.pid, "host": os.uname().nodename, "since": time.time()})
        )

    return setup


def edit_json(rel, change):
    def setup(S):
        p = S / rel
        p.write_text(json.dumps(change(json.loads(p.read_text()))))

    return setup


def torch_save(rel, obj_fn):
    def setup(S):
        import torch

        torch.save(obj_fn(S), S / rel)

    return setup


class Evil:
    def __reduce__(self):
        return (os.system, ("touch owned_by_pickle",))


def drop_key(key):
    def make(S):
        import torch

        state = torch.load(S / "run" / "last.pt", weights_only=True)
        state.pop(key)
        return state

    return make


def exists(*rels):
    def check(S, out, err):
        missing = [r for r in rels if not (S / r).exists()]
        return f"missing {missing}" if missing else None

    return check


def absent(*rels):
    def check(S, out, err):
        there = [r for r in rels if (S / r).exists()]
        return f"should not exist: {there}" if there else None

    return check


def scored(S, out, err):
    """The train command printed a final test score."""
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"no JSON result on stdout: {out[-300:]!r}"
    return None if "test" in result else f"no test score in {result}"


def says_note(text):
    def check(S, out, err):
        return None if text in err else f"no note {text!r} on stderr"

    return check


def all_of(*checks):
    def check(S, out, err):
        for c in checks:
            problem = c(S, out, err)
            if problem:
                return problem
        return None

    return check


def label_size(rel, size):
    def check(S, out, err):
        from PIL import Image

        got = Image.open(S / rel).size
        return None if got == size else f"{rel} is {got}, expected {size} (as displayed)"

    return check


def sandbox_tar(name, member, data=b"x"):
    def setup(S):
        import io

        (S / "src").mkdir(exist_ok=True)
        with tarfile.open(S / "src" / name, "w:gz") as t:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))

    return setup


def flowers_src(S):
    from data_prep.fixtures import make_flowers

    make_flowers(S / "src", n=6, h=30, w=40)


def lfw_src(S):
    (S / "src" / "lfw_funneled" / "Ann").mkdir(parents=True)
    (S / "src" / "parts_lfw_funneled_gt_images").mkdir(parents=True)


def nfd(text):
    return unicodedata.normalize("NFD", text)


def bytes_name(folder: str, raw: bytes, size=(8, 8), channels=3):
    """An image whose file name is not valid UTF-8 (a Latin-1 name from an old disk)."""

    def setup(S):
        import numpy as np
        from PIL import Image

        d = S / folder
        d.mkdir(parents=True, exist_ok=True)
        path = os.fsencode(d) + b"/" + raw
        shape = (*size, channels) if channels > 1 else size
        Image.fromarray(np.zeros(shape, np.uint8)).save(os.fsdecode(path), format="PNG")

    return setup


def legacy(rel):
    def setup(S):
        (S / rel / "redo_run.json").unlink()

    return setup


def log_rows(rel, n):
    """True once the run's log has n rows: the command is training."""

    def ready(S):
        p = S / rel
        return p.is_file() and len(p.read_text().splitlines()) >= n

    return ready


def resumes(S, out, err):
    """After the interrupt: one line says how to resume, and the same command resumes."""
    if "to resume" not in err:
        return f"no line saying how to resume: {err[-300:]!r}"
    r = subprocess.run(
        command(rl("train", "--data", DATA, "--out", "{S}/new", "--steps", "12", *TINY), S),
        cwd=S, env=env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if r.returncode or "resuming" not in r.stderr:
        return f"the resume failed: exit {r.returncode}, {r.stderr[-300:]!r}"
    return None


DATA, RUN, PHOTOS = "{S}/data", "{S}/run", "{S}/photos"


def hold_out_lock(rel, name):
    """Another process writing in the output folder S/rel: it holds the lock file ``name`` there
    (as segment, self-train and demo take it) until the case ends."""

    def setup(S):
        (S / rel).mkdir(parents=True, exist_ok=True)
        code = (
            "import time; from redo_lite.runfolder import RunLock; "
            f"RunLock({str(S / rel)!r}, {name!r}, 'output folder').acquire(); "
            "print('ready', flush=True); time.sleep(600)"
        )
        proc = subprocess.Popen([PY, "-c", code], env=env(), stdout=subprocess.PIPE, cwd=ROOT)
        proc.stdout.readline()  # a condition: the lock is held once it says so
        return lambda: (proc.kill(), proc.wait())

    return setup


def images(folder, n, h=20, w=20, mode=None, array=None):
    """``n`` images in S/folder (random RGB, or ``array`` saved in PIL ``mode``)."""

    def setup(S):
        from PIL import Image

        d = S / folder
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            if array is None:
                save(rgb(h, w, i), d / f"im{i:04d}.png")
            else:
                Image.fromarray(array, mode).save(d / f"im{i:04d}.tiff")

    return setup


def strict_json(*rels):
    """stdout's last line, and every line of the files ``rels``, are strict JSON (no NaN or
    Infinity, which Python's json writes and strict parsers refuse)."""

    def refuse(const):
        raise ValueError(f"{const} is not JSON")

    def check(S, out, err):
        texts = [("stdout", (out.strip().splitlines() or [""])[-1])]
        texts += [(r, line) for r in rels for line in (S / r).read_text().splitlines()]
        for where, line in texts:
            try:
                json.loads(line, parse_constant=refuse)
            except ValueError as e:
                return f"{where}: not strict JSON ({e}): {line[:120]!r}"
        return None

    return check


def says_err(text):
    """stderr holds ``text`` (a progress bar, a line saying what was kept)."""

    def check(S, out, err):
        return None if text in err else f"stderr lacks {text!r}: {err[-300:]!r}"

    return check


def then(args, code=0, says=""):
    """The command a message told the user to run (``args``, {S} allowed) exits with ``code``,
    its stderr holding ``says``."""

    def check(S, out, err):
        r = subprocess.run(
            command(["rl", *args], S), cwd=S, env=env(), capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        if r.returncode != code or says not in r.stderr:
            return f"then {args}: exit {r.returncode}, {r.stderr[-300:]!r}"
        return None

    return check


def unchanged(rel, content):
    def check(S, out, err):
        p = S / rel
        got = p.read_bytes() if p.is_file() else None
        return None if got == content else f"{rel} changed: {got!r:.80}"

    return check


# --- the table --------------------------------------------------------------------------------
@dataclass
class Case:
    """One row of ``hostile_cases.toml``."""

    name: str
    kind: str  # what failure it guards against: lost, silent, hang, traceback, unclear
    command: list  # "redo_lite" or "data_prep.X", then the arguments; {S}: the sandbox
    expect: str = "refuse"  # or "ok", or "interrupt" (a signal once ``interrupt`` holds)
    says: list = field(default_factory=list)  # substrings of the error line ({S} allowed)
    keeps: list = field(default_factory=lambda: ["."])  # paths under S that must not change
    setup: str | None = None
    check: str | None = None
    interrupt: str | None = None
    signal: str = "SIGINT"  # what ``interrupt`` sends: SIGINT (Ctrl-C) or SIGTERM
    code: int | None = None  # exit status: 2 for a refusal, 0 "ok", 130 "interrupt"
    root: bool = False  # needs root (mounts a tmpfs)
    noisy: bool = False  # a refusal after work started: other stderr lines allowed
    quick: bool = False  # in the default suite's sample
    subprocess: bool = False  # must run in a process of its own
    stdout_full: bool = False  # standard output is a full disk (every write fails: ENOSPC)
    memory_mb: int | None = None  # the command's peak memory must stay below this
    timeout: float = 120

    def __post_init__(self):
        if self.code is None:
            self.code = {"refuse": 2, "ok": 0, "interrupt": 130}[self.expect]

    @property
    def own_process(self) -> bool:
        return self.subprocess or self.root or self.interrupt is not None or bool(self.memory_mb)


def load_cases(path: Path = CASES) -> list[Case]:
    with open(path, "rb") as f:
        rows = tomllib.load(f)["case"]
    cases = [Case(**row) for row in rows]
    names = [c.name for c in cases]
    dupes = sorted({n for n in names if names.count(n) > 1})
    assert not dupes, f"{path}: case names used twice: {dupes}"
    return cases


def evaluate(text: str | None, S: Path):
    """A row's expression, with S the sandbox and this module's names in scope."""
    if text is None:
        return None
    return eval(text.strip(), {**globals(), "S": S})  # noqa: S307 (our own table)


def argv(case: Case, S: Path) -> list[str]:
    out = []
    for a in case.command[1:]:
        out += TINY if a == "{TINY}" else TINY2 if a == "{TINY2}" else [a.replace("{S}", str(S))]
    return out


def command(args: list, S: Path) -> list[str]:
    """``rl(...)``/``dp(...)`` as a subprocess's argument list (``resumes`` and older rows)."""
    args = [a.replace("{S}", str(S)) for a in args]
    head = args[0]
    if head == "rl":
        return [PY, "-m", "redo_lite", *args[1:]]
    return [PY, "-m", f"data_prep.{head[3:]}", *args[1:]]


def in_process(case: Case, S: Path) -> tuple[int, str, str] | str:
    """Run the command's ``main`` here: (exit status, stdout, stderr), or a string saying why
    there is none (a hang: no answer within the case's time limit)."""
    import importlib

    from redo_lite import data, runfolder

    module = importlib.import_module(case.command[0])
    if case.command[0] == "redo_lite":
        module = importlib.import_module("redo_lite.__main__")
    data._noted.clear()  # a note is said once a process: each case is a process of its own
    out, err = (FullDisk() if case.stdout_full else io.StringIO()), io.StringIO()
    here, term = os.getcwd(), signal.getsignal(signal.SIGTERM)
    hung = []

    def alarm(*_):  # no answer within the case's time limit: a hang (a FIFO opened?)
        hung.append(True)
        raise TimeoutError(f"no answer in {case.timeout:.0f} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(int(case.timeout))
    os.chdir(S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                module.main(argv(case, S))
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(here)
        signal.signal(signal.SIGTERM, term)
        runfolder._release_all()
    if hung:
        return f"hang: no answer in {case.timeout:.0f} s"
    return code, out.getvalue(), err.getvalue()


class FullDisk(io.StringIO):
    """Standard output on a full disk: every write fails as /dev/full's do."""

    def write(self, text):
        raise OSError(28, "No space left on device")


# the command run by runpy, its peak memory said on stderr at exit (``memory_mb``)
PEAK = (
    "import atexit, resource, runpy, sys; "
    "atexit.register(lambda: print('peak memory: %d MB' % "
    "(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024), file=sys.stderr)); "
    "sys.argv = sys.argv[1:]; runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)"
)


def in_subprocess(case: Case, S: Path) -> tuple[int, str, str] | str:
    """Run the command in a process of its own; send ``case.signal`` once ``interrupt`` holds.
    Returns (exit status, stdout, stderr), or a string saying why there is none (a hang)."""
    head = ["-c", PEAK, case.command[0]] if case.memory_mb else ["-m", case.command[0]]
    proc = subprocess.Popen(
        [PY, *head, *argv(case, S)], cwd=S, env=env(), text=True,
        stdout=subprocess.DEVNULL if case.stdout_full else subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    t0 = time.monotonic()
    ready = evaluate(case.interrupt, S)
    if ready is not None:  # the signal once the command has got somewhere (a condition)
        while proc.poll() is None and time.monotonic() - t0 < case.timeout:
            if ready(S):
                proc.send_signal(getattr(signal, case.signal))
                break
            time.sleep(0.05)
    try:
        out, err = proc.communicate(timeout=max(1.0, case.timeout - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return f"hang: no answer in {case.timeout:.0f} s"
    return proc.returncode, out, err


def run_case(case: Case, template: Path, work: Path) -> list[str]:
    """The problems found (none: the case holds). Raises ``Skip`` where it cannot run."""
    if case.root and (os.geteuid() != 0 or shutil.which("mount") is None):
        raise Skip("needs root to mount a tmpfs")
    S = work / "".join(c if c.isalnum() else "_" for c in case.name)[:60]
    shutil.copytree(template, S, symlinks=True)
    cleanup = None
    try:
        try:
            made = evaluate(case.setup, S)
            made = made(S) if callable(made) else made
            cleanup = made if callable(made) else None
        except subprocess.CalledProcessError as e:
            if case.root:
                raise Skip(f"cannot mount here ({e})") from None
            raise
        before = snapshot(S)
        run = in_subprocess if case.own_process else in_process
        result = run(case, S)
        if isinstance(result, str):
            return [result]
        code, out, err = result
        return judge(case, S, before, snapshot(S), code, out, err)
    finally:
        if cleanup:
            cleanup()


class Skip(Exception):
    pass


def judge(case, S, before, after, code, out, err) -> list[str]:
    problems = []
    out = out or ""
    if case.memory_mb:
        peak = [ln for ln in err.splitlines() if ln.startswith("peak memory: ")]
        err = "\n".join(ln for ln in err.splitlines() if not ln.startswith("peak memory: "))
        mb = int(peak[-1].split()[2]) if peak else None
        if mb is None or mb > case.memory_mb:
            problems.append(f"peak memory {mb} MB, more than {case.memory_mb} MB")
    lines = [line for line in err.splitlines() if line.strip()]
    if "Traceback" in err:
        problems.append("traceback on stderr")
    raw = sorted({c for c in err if c in "\x1b\x07\x08" or 0x80 <= ord(c) <= 0x9F})
    if raw:  # an escape code printed raw can rewrite the line on screen
        problems.append(f"raw control characters on stderr: {raw}")
    if code != case.code:
        problems.append(f"exit {code}, expected {case.code}: {lines[-1:]}")
    if case.expect == "refuse":
        errors = [line for line in lines if line.startswith("error:")]
        if len(errors) != 1 or not lines or not lines[-1].startswith("error:"):
            problems.append(f"{len(errors)} error lines; last line {lines[-1:]!r}")
        elif not case.noisy and any(not x.startswith(("error:", "note:")) for x in lines):
            others = [x for x in lines if not x.startswith(("error:", "note:"))]
            problems.append(f"other stderr lines: {others[:2]}")
        for want in case.says:
            want = want.replace("{S}", str(S))
            if errors and want not in errors[-1]:
                problems.append(f"error line lacks {want!r}: {errors[-1]!r}")
    elif case.check and not problems:
        problem = evaluate(case.check, S)(S, out, err)
        if problem:
            problems.append(problem)
    keeps = case.keeps if case.expect == "refuse" or case.keeps != ["."] else ["data", "photos"]
    for rel in keeps:
        prefix = "" if rel == "." else rel
        inside = [
            k
            for k in set(before) | set(after)
            if not prefix or k == prefix or k.startswith(prefix + "/")
        ]
        changed = sorted(k for k in inside if before.get(k) != after.get(k))
        if changed:
            problems.append(f"changed: {changed[:3]}")
            break
    left = [k for k in after if k.endswith((".tmp", ".part")) and k not in before]
    if left:
        problems.append(f"left behind: {left[:3]}")
    if (S / "owned_by_pickle").exists():
        problems.append("the pickle payload ran")
    return problems
