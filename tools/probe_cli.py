"""Hostile inputs through the real command lines, each in a subprocess of its own.

Every case builds a sandbox (a tiny colored-2-MNIST folder, a tiny trained run, a folder of the
user's photos), plants one hostile thing in it, runs one command (``python -m redo_lite ...`` or
``python -m data_prep.X ...``) and checks what a user must be able to count on:

* a refusal exits with status 2, with exactly one line ``error: ...`` on stderr (the last one; any
  other line is a ``note:``), naming what it should (``says``), with no traceback;
* a case that should work exits with 0, with no traceback, and does what it should (``check``);
* no hang (a time limit per case); no file of the user's changed (the sandbox is hashed before and
  after: for a refusal, nothing at all may change in it); no ``*.tmp``/``*.part`` left anywhere.

    python3 tools/probe_cli.py [-k SUBSTRING] [--jobs 2] [--list] [--quick]

Prints one row per case, then the counts; exits 1 if any case fails. Cases that need root (a
real full disk and a real read-only folder, on a tmpfs mounted for the case) are skipped, with the
reason, elsewhere.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
@dataclass
class Case:
    name: str
    guards: str  # what failure it guards against: lost, silent, hang, traceback, unclear
    argv: list  # {S}: the sandbox; "rl" / "dp.X": python -m redo_lite / python -m data_prep.X
    setup: object = None  # f(S) -> optional cleanup f()
    expect: str = "refuse"  # or "ok", or "interrupt" (Ctrl-C: exit 130, resumable)
    says: tuple = ()  # substrings of the error line ({S} allowed)
    protect: tuple = (".",)  # paths (under S) that must not change; "." = everything
    check: object = None  # f(S, stdout, stderr) -> problem or None, for "ok"
    root: bool = False  # needs root (mounts a tmpfs)
    noisy: bool = False  # a refusal after training started: other stderr lines allowed
    timeout: float = 120
    interrupt: object = None  # f(S) -> True when to send SIGINT
    code: int = 2  # the exit status of a refusal


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


DATA, RUN, PHOTOS = "{S}/data", "{S}/run", "{S}/photos"
T = ["--steps", "2", *TINY]
T2 = ["--steps", "2", *TINY2]


def cases() -> list[Case]:
    C = []
    add = C.append
    # ---------------- data lost: nothing of the user's overwritten or deleted -------------------
    add(
        Case(
            "segment --out = --images",
            "lost",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", PHOTOS),
            says=("inside --images",),
        )
    )
    add(
        Case(
            "segment --out inside --images",
            "lost",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", PHOTOS + "/labels"),
            says=("inside --images",),
        )
    )
    add(
        Case(
            "segment --out a link to --images",
            "lost",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/link"),
            setup=lambda S: os.symlink(S / "photos", S / "link"),
            says=("inside --images",),
        )
    )
    add(
        Case(
            "segment --out a parent whose label map would be an input",
            "lost",
            rl("segment", "--run", RUN, "--images", "{S}/p", "--out", "{S}"),
            setup=lambda S: (
                save(rgb(8, 8), S / "p" / "a.png"),
                save(rgb(8, 8), S / "p" / "p" / "a.png"),
            ),
            says=("is one of the input images",),
        )
    )
    add(
        Case(
            "segment into a folder holding a same-named file",
            "lost",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/out"),
            setup=write("out/a.png", b"the user's own a.png"),
            says=("out/a.png", "--overwrite"),
        )
    )
    add(
        Case(
            "segment --overwrite replaces label maps",
            "lost",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/out", "--overwrite"),
            setup=write("out/a.png", b"old"),
            expect="ok",
            protect=("photos", "data", "run"),
            check=exists("out/a.png", "out/b.png", "out/c d.png"),
        )
    )
    add(
        Case(
            "segment --out is a file",
            "lost",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/f"),
            setup=write("f", "a file"),
            says=("not a folder",),
        )
    )
    add(
        Case(
            "demo --data holding another data set",
            "lost",
            rl("demo", "--data", "{S}/other", "--out", "{S}/demo"),
            setup=lambda S: (
                hand_made(S / "other"),
                (S / "other" / "info.json").write_text('{"name": "flowers", "size": 128}'),
            ),
            says=("another data set", "flowers"),
        )
    )
    add(
        Case(
            "demo --data a folder of the user's files",
            "lost",
            rl("demo", "--data", PHOTOS, "--out", "{S}/demo"),
            says=("photos", "not a folder built by data_prep"),
        )
    )
    add(
        Case(
            "demo --data colored-2-MNIST of another size",
            "lost",
            rl("demo", "--data", DATA, "--out", "{S}/demo"),
            says=("16 px, not 32 px",),
        )
    )
    add(
        Case(
            "demo --out a folder of the user's files",
            "lost",
            rl("demo", "--data", "{S}/c32", "--out", PHOTOS),
            says=("not a demo folder",),
        )
    )
    add(
        Case(
            "train --out a folder with the user's *.tmp and metrics.jsonl",
            "lost",
            rl("train", "--data", DATA, "--out", "{S}/mine", *T),
            setup=both(
                write("mine/notes.tmp", "draft"),
                write("mine/metrics.jsonl", "{}\n"),
                write("mine/x.txt", "x"),
            ),
            says=("not a redo_lite run folder",),
        )
    )
    add(
        Case(
            "train --out a folder holding only metrics.jsonl",
            "lost",
            rl("train", "--data", DATA, "--out", "{S}/mine", *T),
            setup=write("mine/metrics.jsonl", '{"mine": 1}\n'),
            says=("not a redo_lite run folder",),
        )
    )
    add(
        Case(
            "train --out a folder with someone else's config.json",
            "lost",
            rl("train", "--data", DATA, "--out", "{S}/mine", *T),
            setup=write("mine/config.json", '{"lr": 3}'),
            says=("not a redo_lite run folder",),
        )
    )
    add(
        Case(
            "train --out a file",
            "lost",
            rl("train", "--data", DATA, "--out", "{S}/f", *T),
            setup=write("f", "a file"),
            says=("not a folder",),
        )
    )
    add(
        Case(
            "c2mnist --out a folder of the user's files",
            "lost",
            dp(
                "c2mnist",
                "--out",
                PHOTOS,
                "--size",
                "16",
                "--train",
                "4",
                "--val",
                "2",
                "--test",
                "2",
            ),
            says=("not a folder built by data_prep",),
        )
    )
    add(
        Case(
            "c2mnist again with another --seed",
            "silent",
            dp(
                "c2mnist",
                "--out",
                DATA,
                "--size",
                "16",
                "--seed",
                "3",
                "--train",
                "24",
                "--val",
                "8",
                "--test",
                "8",
            ),
            says=("seed=0", "seed=3"),
        )
    )
    add(
        Case(
            "c2mnist again with another --size",
            "silent",
            dp(
                "c2mnist",
                "--out",
                DATA,
                "--size",
                "32",
                "--train",
                "24",
                "--val",
                "8",
                "--test",
                "8",
            ),
            says=("size=16", "size=32"),
        )
    )
    add(
        Case(
            "c2mnist again with the same settings",
            "silent",
            dp(
                "c2mnist",
                "--out",
                DATA,
                "--size",
                "16",
                "--train",
                "24",
                "--val",
                "8",
                "--test",
                "8",
            ),
            expect="ok",
            protect=("data/images", "data/masks"),
        )
    )
    add(
        Case(
            "shapes --out a colored-2-MNIST folder",
            "lost",
            dp("shapes", "--out", DATA, "--size", "16", "--train", "4"),
            says=("colored-2-MNIST",),
        )
    )
    add(
        Case(
            "flowers --out a file",
            "lost",
            dp("flowers", "--out", "{S}/f", "--from", "{S}/src"),
            setup=both(write("f", "x"), flowers_src),
            says=("not a folder",),
        )
    )
    # ---------------- silently wrong -----------------------------------------------------------
    add(
        Case(
            "resume with another --data",
            "silent",
            rl("train", "--data", "{S}/d2", "--out", RUN, *T),
            setup=lambda S: subprocess.run(
                [
                    PY,
                    "-m",
                    "data_prep.c2mnist",
                    "--out",
                    str(S / "d2"),
                    "--size",
                    "16",
                    "--seed",
                    "5",
                    "--train",
                    "24",
                    "--val",
                    "8",
                    "--test",
                    "8",
                ],
                env=env(),
                check=True,
                capture_output=True,
                cwd=ROOT,
            ),
            says=("this run trains on", "d2"),
        )
    )
    add(
        Case(
            "resume with another --seed",
            "silent",
            rl("train", "--data", DATA, "--out", RUN, "--seed", "4", *T),
            says=("seed 0, not 4",),
        )
    )
    add(
        Case(
            "resume with its own --seed",
            "silent",
            rl("train", "--data", DATA, "--out", RUN, "--seed", "0", "--steps", "3", *TINY),
            expect="ok",
            protect=("data", "photos"),
            check=scored,
        )
    )
    add(
        Case(
            "resume with the data folder moved",
            "silent",
            rl("train", "--data", "{S}/moved", "--out", RUN, "--steps", "3", *TINY),
            setup=lambda S: shutil.copytree(S / "data", S / "moved"),
            expect="ok",
            protect=("data", "moved", "photos"),
            check=says_note("the same data as before"),
        )
    )
    add(
        Case(
            "second train on a busy run folder",
            "silent",
            rl("train", "--data", DATA, "--out", RUN, "--steps", "3", *TINY),
            setup=hold_lock("run"),
            says=("in use by process",),
            protect=("data", "run/last.pt", "run/metrics.jsonl"),
        )
    )
    add(
        Case(
            "stale lock of a dead process",
            "silent",
            rl("train", "--data", DATA, "--out", RUN, "--steps", "3", *TINY),
            setup=stale_lock("run"),
            expect="ok",
            check=all_of(says_note("stale lock"), absent("run/redo_run.lock")),
        )
    )
    add(
        Case(
            "images in subfolders",
            "silent",
            rl("segment", "--run", RUN, "--images", "{S}/nest", "--out", "{S}/out"),
            setup=lambda S: (
                save(rgb(8, 8), S / "nest" / "a.png"),
                save(rgb(8, 8), S / "nest" / "sub" / "b.png"),
            ),
            expect="ok",
            check=exists("out/a.png", "out/sub/b.png"),
        )
    )
    kinds = {
        "a": ".webp",
        "b": ".bmp",
        "c": ".tif",
        "d": ".gif",
        "e": ".TIFF",
        "f": ".JPEG",
        "g": ".ppm",
    }
    add(
        Case(
            ".webp .bmp .tif .gif .TIFF .JPEG .ppm images",
            "silent",
            rl("segment", "--run", RUN, "--images", "{S}/kinds", "--out", "{S}/out"),
            setup=lambda S: [save(rgb(10, 10), S / "kinds" / f"{k}{e}") for k, e in kinds.items()],
            expect="ok",
            check=exists(*(f"out/{k}.png" for k in kinds)),
        )
    )
    add(
        Case(
            "one stem in two extensions (.tif and .TIFF)",
            "silent",
            rl("segment", "--run", RUN, "--images", "{S}/kinds", "--out", "{S}/out"),
            setup=lambda S: [save(rgb(10, 10), S / "kinds" / f"x{e}") for e in (".tif", ".TIFF")],
            says=("duplicate stem",),
        )
    )
    add(
        Case(
            "masks named .PNG",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: hand_made(S / "hm", mask_ext=".PNG"),
            expect="ok",
            check=all_of(
                scored,
                lambda S, o, e: (
                    None
                    if '"kind": "eval"' in (S / "new" / "metrics.jsonl").read_text()
                    else "no validation row"
                ),
            ),
        )
    )
    add(
        Case(
            "images .JPG with masks .PNG",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: hand_made(S / "hm", img_ext=".JPG", mask_ext=".PNG"),
            expect="ok",
            check=scored,
        )
    )
    add(
        Case(
            "EXIF-rotated photo with a mask as displayed",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm", h=16, w=24),
                exif_photo(S / "hm" / "images" / "s0.jpg"),
                (S / "hm" / "images" / "s0.png").unlink(),
                save(__import__("numpy").zeros((24, 16), "uint8"), S / "hm" / "masks" / "s0.png"),
            ),
            expect="ok",
            check=scored,
        )
    )
    add(
        Case(
            "EXIF-rotated photo segmented as displayed",
            "silent",
            rl("segment", "--run", RUN, "--images", "{S}/ex", "--out", "{S}/out"),
            setup=lambda S: exif_photo(S / "ex" / "p.jpg", w=24, h=16),
            expect="ok",
            check=label_size("out/p.png", (16, 24)),
        )
    )
    add(
        Case(
            "EXIF-rotated photo with a mask as stored",
            "unclear",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm", h=16, w=24),
                exif_photo(S / "hm" / "images" / "s5.jpg"),
                (S / "hm" / "images" / "s5.png").unlink(),
            ),
            says=("EXIF orientation",),
        )
    )
    add(
        Case(
            "split lists a stem twice",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm"),
                (S / "hm" / "splits" / "train.txt").write_text("s0\ns1\ns0\n"),
            ),
            says=("train.txt:3", "listed twice"),
        )
    )
    add(
        Case(
            "a val stem also in test",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm"),
                (S / "hm" / "splits" / "test.txt").write_text("s5\ns4\n"),
            ),
            says=("test.txt and val.txt",),
        )
    )
    add(
        Case(
            "a train stem also in test",
            "silent",
            rl("evaluate", "--run", RUN, "--data", "{S}/hm", "--split", "test"),
            setup=lambda S: (
                hand_made(S / "hm"),
                (S / "hm" / "splits" / "test.txt").write_text("s0\n"),
            ),
            says=("test.txt and train.txt",),
        )
    )
    add(
        Case(
            "split file with BOM, CRLF, blank lines and spaces",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm"),
                (S / "hm" / "splits" / "train.txt").write_bytes(
                    "\ufeffs0\r\n\r\n  s1  \r\ns2\r\ns3".encode()
                ),
            ),
            expect="ok",
            check=scored,
        )
    )
    add(
        Case(
            "split lines in another Unicode normal form",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm", stems=["é0", "é1", "é2", "é3", "é4", "é5"]),
                (S / "hm" / "splits" / "train.txt").write_text(nfd("é0\né1\né2\né3\n")),
            ),
            expect="ok",
            check=scored,
        )
    )
    add(
        Case(
            "two Unicode spellings of one file name",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm", stems=["é0", "é1", "é2", "é3", "é4", "é5"], splits=False),
                save(rgb(20, 20), S / "hm" / "images" / (nfd("é0") + ".png")),
            ),
            says=("duplicate stem",),
        )
    )
    add(
        Case(
            "stems with spaces: final test scored",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: hand_made(S / "hm", stems=[f"my photo {i}" for i in range(6)]),
            expect="ok",
            check=scored,
        )
    )
    add(
        Case(
            "a HEIC photo among the images",
            "silent",
            rl("segment", "--run", RUN, "--images", "{S}/h", "--out", "{S}/out"),
            setup=lambda S: (
                save(rgb(8, 8), S / "h" / "a.png"),
                write("h/b.HEIC", b"\x00\x00\x00\x18ftypheic")(S),
            ),
            says=("b.HEIC", "HEIC"),
        )
    )
    add(
        Case(
            "a notes.txt among the images",
            "silent",
            rl("segment", "--run", RUN, "--images", "{S}/h", "--out", "{S}/out"),
            setup=lambda S: (save(rgb(8, 8), S / "h" / "a.png"), write("h/notes.txt", "hi")(S)),
            expect="ok",
            check=all_of(exists("out/a.png"), says_note("not images by their extension")),
        )
    )
    add(
        Case(
            "a broken .webp",
            "unclear",
            rl("segment", "--run", RUN, "--images", "{S}/h", "--out", "{S}/out"),
            setup=write("h/a.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 junk"),
            says=("a.webp", "cannot read this image"),
        )
    )
    add(
        Case(
            "a JPEG mask",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: hand_made(S / "hm", mask_ext=".jpg"),
            says=("saved losslessly",),
        )
    )
    add(
        Case(
            "a validation image without its mask",
            "silent",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm", n=8),
                (S / "hm" / "splits" / "train.txt").write_text("s0\ns1\ns2\ns3\n"),
                (S / "hm" / "splits" / "val.txt").write_text("s4\ns5\n"),
                (S / "hm" / "splits" / "test.txt").write_text("s6\ns7\n"),
                (S / "hm" / "masks" / "s5.png").unlink(),
            ),
            expect="ok",
            check=all_of(scored, says_note("not scored")),
        )
    )
    add(
        Case(
            "a split file that is not UTF-8",
            "traceback",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm"),
                (S / "hm" / "splits" / "train.txt").write_bytes(b"s0\n\xe9t\xe9\n"),
            ),
            says=("train.txt", "not UTF-8"),
        )
    )
    add(
        Case(
            "split lists a file name with its extension",
            "unclear",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm"),
                (S / "hm" / "splits" / "train.txt").write_text("s0.png\ns1\n"),
            ),
            says=("without the extension",),
        )
    )
    add(
        Case(
            "evaluate on a folder without masks",
            "unclear",
            rl("evaluate", "--run", RUN, "--data", "{S}/hm"),
            setup=lambda S: hand_made(S / "hm", mask_ext=None),
            says=("masks",),
        )
    )
    # ---------------- hangs: FIFOs and devices refused before anything opens them ---------------
    for rel, argv in (
        ("data/splits/train.txt", rl("train", "--data", DATA, "--out", "{S}/new", *T)),
        ("data/splits/val.txt", rl("train", "--data", DATA, "--out", "{S}/new", *T)),
        ("data/masks/train_00003.png", rl("train", "--data", DATA, "--out", "{S}/new", *T)),
        ("data/images/train_00003.png", rl("train", "--data", DATA, "--out", "{S}/new", *T)),
        ("run/config.json", rl("evaluate", "--run", RUN, "--data", DATA)),
        ("run/best.pt", rl("evaluate", "--run", RUN, "--data", DATA)),
        ("run/last.pt", rl("train", "--data", DATA, "--out", RUN, *T)),
        ("run/redo_run.json", rl("train", "--data", DATA, "--out", RUN, *T)),
        ("photos/z.png", rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/out")),
        ("photos/z.txt", rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/out")),
        ("src/setid.mat", dp("flowers", "--out", "{S}/fl", "--from", "{S}/src", "--size", "16")),
        (
            "splits/train.txt",
            dp("lfw", "--out", "{S}/lf", "--from", "{S}/src", "--splits", "{S}/splits"),
        ),
    ):
        extra = (
            flowers_src if rel.startswith("src/setid") else (lfw_src if "lfw" in argv[0] else None)
        )
        add(
            Case(
                f"a FIFO as {rel}",
                "hang",
                argv,
                setup=both(extra, fifo(rel)),
                says=("FIFO",),
                timeout=60,
            )
        )
    add(
        Case(
            "/dev/zero linked in as an image",
            "hang",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/out"),
            setup=lambda S: os.symlink("/dev/zero", S / "photos" / "zero.png"),
            says=("character device",),
            timeout=60,
        )
    )
    add(
        Case(
            "a broken link as an image",
            "traceback",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/out"),
            setup=lambda S: os.symlink(S / "nowhere.png", S / "photos" / "gone.png"),
            says=("broken link",),
        )
    )
    # ---------------- settings: checked, with the allowed range, before anything is written -----
    for bad, word in (
        ("batch=abc", "batch"),
        ("batch=0", "batch"),
        ("batch=2.5", "batch"),
        ("lr_f=-1", "lr_f"),
        ("lr_f=NaN", "lr_f"),
        ("eval_every=0", "eval_every"),
        ("restart_on=sometimes", "restart_on"),
        ("select_metric=dice", "select_metric"),
        ("betas=[1,2]", "betas"),
        ("f_ppm_bins=[0]", "f_ppm_bins"),
        ("g_attention_at=5", "g_attention_at"),
        ("f_downs=9", "f_downs"),
        ("g_hard_input=1", "g_hard_input"),
        ("nonsense=1", "nonsense"),
        ("batch", "KEY=VALUE"),
        ("log_every=-3", "log_every"),
        ("z_dim=1e9", "z_dim"),
    ):
        add(
            Case(
                f"--set {bad}",
                "traceback",
                rl("train", "--data", DATA, "--out", "{S}/new", *T, "--set", bad),
                says=(word,),
            )
        )
    for flags, word in (
        (["--size", "0"], "--size"),
        (["--size", "33"], "--size"),
        (["--size", "-8"], "--size"),
        (["--size", "abc"], "--size"),
        (["--regions", "0"], "--regions"),
        (["--regions", "1"], "--regions"),
        (["--regions", "7"], "--regions"),
        (["--threads", "0"], "--threads"),
        (["--threads", "-1"], "--threads"),
        (["--seed", str(10**30)], "--seed"),
        (["--seed", "-1"], "--seed"),
        (["--steps", "0"], "--steps"),
        (["--steps", "-5"], "--steps"),
        (["--minutes", "0"], "--minutes"),
        (["--minutes", "-1"], "--minutes"),
        (["--minutes", "nan"], "--minutes"),
        (["--minutes", "inf"], "--minutes"),
        (["--device", "gpu"], "--device"),
        (["--device", "cuda:7"], "--device"),
        (["--preset", "nope"], "--preset"),
        (["--preset", "c2mnist-cpu", "--size", "64"], "preset"),
    ):
        add(
            Case(
                f"train {' '.join(flags)}",
                "traceback",
                rl("train", "--data", DATA, "--out", "{S}/new", *flags),
                says=(word,),
            )
        )
    add(
        Case(
            "describe --regions 1",
            "unclear",
            rl("describe", "--preset", "c2mnist-cpu", "--regions", "1"),
            says=("--regions",),
        )
    )
    add(
        Case(
            "describe --preset nope",
            "traceback",
            rl("describe", "--preset", "nope"),
            says=("unknown preset",),
        )
    )
    add(
        Case(
            "evaluate --split ../../etc/passwd",
            "traceback",
            rl("evaluate", "--run", RUN, "--data", DATA, "--split", "../../etc/passwd"),
            says=("--split",),
        )
    )
    add(
        Case(
            "evaluate --run missing",
            "traceback",
            rl("evaluate", "--run", "{S}/none", "--data", DATA),
            says=("no such run folder",),
        )
    )
    add(
        Case(
            "train --data missing",
            "traceback",
            rl("train", "--data", "{S}/none", "--out", "{S}/new"),
            says=("none: no such folder",),
        )
    )
    add(
        Case(
            "train --data a file",
            "traceback",
            rl("train", "--data", "{S}/f", "--out", "{S}/new"),
            setup=write("f", "x"),
            says=("not a folder",),
        )
    )
    add(
        Case(
            "train --data without images",
            "unclear",
            rl("train", "--data", "{S}/e", "--out", "{S}/new"),
            setup=lambda S: (S / "e" / "images").mkdir(parents=True),
            says=("no images here",),
        )
    )
    add(Case("no command at all", "traceback", rl(), says=("required",)))
    # ---------------- run folders and checkpoints -------------------------------------------------
    add(
        Case(
            "zero-byte last.pt",
            "traceback",
            rl("train", "--data", DATA, "--out", RUN, *T),
            setup=write("run/last.pt", b""),
            says=("last.pt", "empty file"),
        )
    )
    add(
        Case(
            "truncated last.pt",
            "traceback",
            rl("train", "--data", DATA, "--out", RUN, *T),
            setup=lambda S: (S / "run" / "last.pt").write_bytes(
                (S / "run" / "last.pt").read_bytes()[:5000]
            ),
            says=("last.pt", "truncated or corrupt"),
        )
    )
    add(
        Case(
            "text file as best.pt",
            "traceback",
            rl("evaluate", "--run", RUN, "--data", DATA),
            setup=write("run/best.pt", "hello"),
            says=("best.pt", "not a readable checkpoint"),
        )
    )
    add(
        Case(
            "pickle payload in best.pt (whole refusal)",
            "unclear",
            rl("evaluate", "--run", RUN, "--data", DATA),
            setup=torch_save("run/best.pt", lambda S: {"nets": Evil()}),
            says=(
                "best.pt: cannot load this checkpoint safely",
                "GLOBAL posix.system",
                "torch.load.html.",
            ),
        )
    )
    add(
        Case(
            "last.pt without its seed",
            "unclear",
            rl("train", "--data", DATA, "--out", RUN, *T),
            setup=torch_save("run/last.pt", drop_key("seed")),
            says=("last.pt", "'seed'"),
        )
    )
    add(
        Case(
            "best.pt without networks",
            "unclear",
            rl("evaluate", "--run", RUN, "--data", DATA),
            setup=torch_save("run/best.pt", lambda S: {"step": 3}),
            says=("best.pt", "no 'nets'"),
        )
    )
    add(
        Case(
            "config.json not JSON",
            "traceback",
            rl("train", "--data", DATA, "--out", RUN, *T),
            setup=write("run/config.json", "{oops"),
            says=("config.json", "not valid JSON"),
        )
    )
    add(
        Case(
            "config.json with a wrong type",
            "traceback",
            rl("evaluate", "--run", RUN, "--data", DATA),
            setup=edit_json("run/config.json", lambda d: {**d, "batch": "four"}),
            says=("config.json", "batch"),
        )
    )
    add(
        Case(
            "config.json with an unknown key",
            "traceback",
            rl("train", "--data", DATA, "--out", RUN, *T),
            setup=edit_json("run/config.json", lambda d: {**d, "dice": 1}),
            says=("config.json", "'dice'"),
        )
    )
    add(
        Case(
            "config.json a list",
            "traceback",
            rl("evaluate", "--run", RUN, "--data", DATA),
            setup=write("run/config.json", "[1, 2]"),
            says=("config.json", "JSON object"),
        )
    )
    add(
        Case(
            "run marker not JSON",
            "traceback",
            rl("train", "--data", DATA, "--out", RUN, *T),
            setup=write("run/redo_run.json", "{"),
            says=("redo_run.json", "not valid JSON"),
        )
    )
    add(
        Case(
            "config.json deleted, then resumed",
            "unclear",
            rl("train", "--data", DATA, "--out", RUN, "--steps", "3", *TINY),
            setup=lambda S: (S / "run" / "config.json").unlink(),
            expect="ok",
            check=all_of(scored, exists("run/config.json")),
        )
    )
    add(
        Case(
            "--set on a run that exists",
            "silent",
            rl("train", "--data", DATA, "--out", RUN, *T, "--set", "lambda_z=1"),
            says=("would change a run",),
        )
    )
    add(
        Case(
            "evaluate a run without checkpoints",
            "unclear",
            rl("evaluate", "--run", "{S}/r", "--data", DATA),
            setup=lambda S: (S / "r").mkdir() or shutil.copy(S / "run" / "config.json", S / "r"),
            says=("no best.pt or last.pt",),
        )
    )
    # ---------------- faults: full disk, read-only folders (real, on a tmpfs) ---------------------
    add(
        Case(
            "full disk at the first checkpoint",
            "traceback",
            rl("train", "--data", DATA, "--out", "{S}/small/run", *T),
            setup=mount_tmpfs("small", size_kb=200),
            root=True,
            noisy=True,
            protect=("data",),
            says=("disk full",),
            check=None,
        )
    )
    add(
        Case(
            "full disk on resume keeps last.pt",
            "traceback",
            rl("train", "--data", DATA, "--out", "{S}/small/run", "--steps", "4", *TINY),
            setup=mount_tmpfs("small", copy="run", extra_kb=200),
            root=True,
            noisy=True,
            protect=("data", "small/run/last.pt"),
            says=("disk full", "previous"),
        )
    )
    add(
        Case(
            "read-only run folder",
            "traceback",
            rl("train", "--data", DATA, "--out", "{S}/ro/run", "--steps", "4", *TINY),
            setup=mount_tmpfs("ro", copy="run", ro=True),
            root=True,
            says=("read-only file system",),
        )
    )
    add(
        Case(
            "segment into a read-only folder",
            "traceback",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/ro/out"),
            setup=mount_tmpfs("ro", size_kb=64, ro=True),
            root=True,
            says=("read-only file system",),
        )
    )
    add(
        Case(
            "c2mnist into a read-only folder",
            "traceback",
            dp("c2mnist", "--out", "{S}/ro/d", "--size", "16", "--train", "4"),
            setup=mount_tmpfs("ro", size_kb=64, ro=True),
            root=True,
            says=("read-only file system",),
        )
    )
    add(
        Case(
            "c2mnist onto a full disk",
            "traceback",
            dp("c2mnist", "--out", "{S}/small/d", "--size", "16", "--train", "400"),
            setup=mount_tmpfs("small", size_kb=48),
            root=True,
            noisy=True,
            protect=(),
            says=("disk full",),
        )
    )
    # ---------------- data_prep scripts --------------------------------------------------------
    for flags, word in (
        (["--size", "0"], "--size"),
        (["--seed", "-1"], "--seed"),
        (["--train", "0"], "--train"),
        (["--min-cover", "0"], "--min-cover"),
        (["--size", "big"], "--size"),
    ):
        add(
            Case(
                f"c2mnist {' '.join(flags)}",
                "traceback",
                dp("c2mnist", "--out", "{S}/d", *flags),
                says=(word,),
            )
        )
    add(
        Case(
            "flowers --from without setid.mat",
            "unclear",
            dp("flowers", "--out", "{S}/fl", "--from", "{S}/src", "--size", "16"),
            setup=lambda S: (flowers_src(S), (S / "src" / "setid.mat").unlink()),
            says=("setid.mat: not found",),
        )
    )
    add(
        Case(
            "flowers --from an empty folder",
            "unclear",
            dp("flowers", "--out", "{S}/fl", "--from", "{S}/src"),
            setup=lambda S: (S / "src").mkdir(),
            says=("102flowers.tgz",),
        )
    )
    add(
        Case(
            "flowers --from a corrupt setid.mat",
            "traceback",
            dp("flowers", "--out", "{S}/fl", "--from", "{S}/src", "--size", "16"),
            setup=lambda S: (flowers_src(S), (S / "src" / "setid.mat").write_text("no")),
            says=("setid.mat",),
        )
    )
    for member, word in (("../evil.txt", "escapes"), ("/tmp/evil.txt", "absolute path")):
        add(
            Case(
                f"archive member {member}",
                "traceback",
                dp("flowers", "--out", "{S}/fl", "--from", "{S}/src", "--size", "16"),
                setup=both(
                    sandbox_tar("102flowers.tgz", member),
                    sandbox_tar("102segmentations.tgz", "segmim/x.jpg"),
                    write("src/setid.mat", b"x"),
                ),
                protect=("src", "data", "run", "photos"),
                says=(word, "refusing"),
            )
        )
    add(
        Case(
            "a damaged archive",
            "traceback",
            dp("flowers", "--out", "{S}/fl", "--from", "{S}/src", "--size", "16"),
            setup=both(
                write("src/102flowers.tgz", b"\x1f\x8b\x08junk"),
                write("src/102segmentations.tgz", b"x"),
                write("src/setid.mat", b"x"),
            ),
            protect=("src", "data", "run", "photos"),
            says=("102flowers.tgz",),
        )
    )
    add(
        Case(
            "lfw offline without --splits",
            "traceback",
            dp("lfw", "--out", "{S}/lf", "--from", "{S}/src"),
            setup=lfw_src,
            protect=("src", "data", "run", "photos"),
            says=("--splits",),
        )
    )
    add(
        Case(
            "cub with a bad images.txt line",
            "traceback",
            dp("cub", "--out", "{S}/cb", "--from", "{S}/src", "--split", "{S}/src/split.txt"),
            setup=lambda S: (
                write("src/CUB_200_2011/images.txt", "1\n")(S),
                (S / "src" / "CUB_200_2011" / "images").mkdir(),
                (S / "src" / "segmentations").mkdir(),
                write("src/split.txt", "1 0\n")(S),
            ),
            says=("images.txt:1",),
        )
    )
    add(
        Case(
            "flowers_lfw --flowers not a data folder",
            "unclear",
            dp("flowers_lfw", "--out", "{S}/fu", "--flowers", PHOTOS, "--lfw", PHOTOS),
            protect=("photos", "data", "run"),
            says=("train.txt",),
        )
    )
    more_cases(add)
    return C


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


def more_cases(add):
    """Cases beyond the issue's list, of the same kinds."""
    add(
        Case(
            "Ctrl-C while training, then the same command again",
            "traceback",
            rl("train", "--data", DATA, "--out", "{S}/new", "--steps", "10000", *TINY),
            interrupt=log_rows("new/metrics.jsonl", 3),
            expect="interrupt",
            check=resumes,
            timeout=300,
        )
    )
    add(
        Case(
            "a finished run, run again",
            "silent",
            rl("train", "--data", DATA, "--out", RUN, *T),
            expect="ok",
            protect=("data", "run"),
            check=says_note("already trained"),
        )
    )
    add(
        Case(
            "an image named in Latin-1 bytes",
            "traceback",
            rl("segment", "--run", RUN, "--images", "{S}/lat", "--out", "{S}/out"),
            setup=bytes_name("lat", b"caf\xe9.png"),
            expect="ok",
            check=lambda S, o, e: None if len(list((S / "out").iterdir())) == 1 else "no label map",
        )
    )
    add(
        Case(
            "training on Latin-1 named images",
            "traceback",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=both(
                lambda S: hand_made(S / "hm", splits=False),
                bytes_name("hm/images", b"\xe9t\xe9.png", (20, 20)),
                bytes_name("hm/masks", b"\xe9t\xe9.png", (20, 20), channels=1),
            ),
            expect="ok",
            check=exists("new/last.pt"),
        )
    )
    add(
        Case(
            "a FIFO as run/metrics.jsonl",
            "hang",
            rl("train", "--data", DATA, "--out", RUN, *T),
            setup=fifo("run/metrics.jsonl"),
            says=("metrics.jsonl", "FIFO"),
            timeout=60,
        )
    )
    add(
        Case(
            "a FIFO as the run's lock",
            "hang",
            rl("train", "--data", DATA, "--out", RUN, *T),
            setup=fifo("run/redo_run.lock"),
            says=("redo_run.lock", "FIFO"),
            timeout=60,
        )
    )
    add(
        Case(
            "a FIFO as the data's info.json (demo)",
            "hang",
            rl("demo", "--data", "{S}/c", "--out", "{S}/demo"),
            setup=fifo("c/info.json"),
            says=("info.json", "FIFO"),
            timeout=60,
        )
    )
    add(
        Case(
            "a FIFO as build.json",
            "hang",
            dp(
                "c2mnist",
                "--out",
                DATA,
                "--size",
                "16",
                "--train",
                "24",
                "--val",
                "8",
                "--test",
                "8",
            ),
            setup=fifo("data/build.json"),
            says=("build.json", "FIFO"),
            timeout=60,
        )
    )
    add(
        Case(
            "an image that links to itself",
            "hang",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/out"),
            setup=lambda S: os.symlink("loop.png", S / "photos" / "loop.png"),
            says=("loop.png", "symbolic links"),
            timeout=60,
        )
    )
    add(
        Case(
            "a folder that links to its parent",
            "hang",
            rl("segment", "--run", RUN, "--images", PHOTOS, "--out", "{S}/out"),
            setup=lambda S: os.symlink("..", S / "photos" / "up"),
            expect="ok",
            protect=("data", "run"),
            timeout=60,
            check=exists("out/a.png"),
        )
    )
    add(
        Case(
            "train --out under a file",
            "traceback",
            rl("train", "--data", DATA, "--out", "{S}/f/run", *T),
            setup=write("f", "x"),
            says=("f/run",),
        )
    )
    add(
        Case(
            "train --out = --data",
            "lost",
            rl("train", "--data", DATA, "--out", DATA, *T),
            says=("not a redo_lite run folder",),
        )
    )
    add(
        Case(
            "flowers --out = --from",
            "lost",
            dp("flowers", "--out", "{S}/src", "--from", "{S}/src", "--size", "16"),
            setup=flowers_src,
            says=("not a folder built by data_prep",),
        )
    )
    add(
        Case(
            "demo --out = --data",
            "lost",
            rl("demo", "--data", "{S}/dd", "--out", "{S}/dd"),
            says=("two separate folders",),
        )
    )
    add(
        Case(
            "an animated GIF",
            "silent",
            rl("segment", "--run", RUN, "--images", "{S}/g", "--out", "{S}/out"),
            setup=lambda S: (
                (S / "g").mkdir()
                or __import__("PIL.Image")
                .Image.fromarray(rgb(8, 8))
                .save(
                    S / "g" / "a.gif",
                    save_all=True,
                    append_images=[__import__("PIL.Image").Image.fromarray(rgb(8, 8, 1))],
                )
            ),
            expect="ok",
            check=all_of(exists("out/a.png"), says_note("frames")),
        )
    )
    add(
        Case(
            "a 16-bit mask",
            "unclear",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm"),
                save(__import__("numpy").zeros((20, 20), "uint16"), S / "hm" / "masks" / "s4.png"),
            ),
            says=("s4.png", "single-channel label map"),
        )
    )
    add(
        Case(
            "a mask of another size",
            "unclear",
            rl("evaluate", "--run", RUN, "--data", "{S}/hm"),
            setup=lambda S: (
                hand_made(S / "hm"),
                save(__import__("numpy").zeros((9, 9), "uint8"), S / "hm" / "masks" / "s5.png"),
            ),
            says=("s5.png", "mask is 9x9"),
        )
    )
    add(
        Case(
            "a run made before markers, resumed",
            "silent",
            rl("train", "--data", DATA, "--out", RUN, "--steps", "3", *TINY),
            setup=legacy("run"),
            expect="ok",
            check=all_of(scored, exists("run/redo_run.json"), says_note("before runs recorded")),
        )
    )
    add(
        Case(
            "a run made before markers, resumed with another seed",
            "silent",
            rl("train", "--data", DATA, "--out", RUN, "--seed", "3", *T),
            setup=legacy("run"),
            says=("seed 0, not 3",),
        )
    )
    add(
        Case(
            "a last.pt copied in from a run of another seed",
            "silent",
            rl("train", "--data", DATA, "--out", RUN, *T),
            setup=lambda S: __import__("torch").save(
                {**__import__("torch").load(S / "run" / "last.pt", weights_only=True), "seed": 9},
                S / "run" / "last.pt",
            ),
            says=("seed 9",),
        )
    )
    add(
        Case(
            "segment with --run a data folder",
            "unclear",
            rl("segment", "--run", DATA, "--images", PHOTOS, "--out", "{S}/out"),
            says=("no config.json",),
        )
    )
    add(
        Case(
            "evaluate --run a file",
            "traceback",
            rl("evaluate", "--run", "{S}/f", "--data", DATA),
            setup=write("f", "x"),
            says=("not a folder",),
        )
    )
    add(
        Case(
            "a split file named Train.txt",
            "unclear",
            rl("train", "--data", "{S}/hm", "--out", "{S}/new", *T2),
            setup=lambda S: (
                hand_made(S / "hm"),
                (S / "hm" / "splits" / "train.txt").rename(S / "hm" / "splits" / "Train.txt"),
            ),
            says=("train.txt: split file not found", "Train"),
        )
    )


# --- running -------------------------------------------------------------------------------------
def command(argv: list, S: Path) -> list[str]:
    argv = [a.replace("{S}", str(S)) for a in argv]
    head = argv[0]
    if head == "rl":
        return [PY, "-m", "redo_lite", *argv[1:]]
    return [PY, "-m", f"data_prep.{head[3:]}", *argv[1:]]


def run_case(case: Case, template: Path, work: Path) -> tuple[str, str]:
    """('pass' | 'FAIL' | 'skip', detail)."""
    if case.root and (os.geteuid() != 0 or shutil.which("mount") is None):
        return "skip", "needs root to mount a tmpfs"
    S = work / "".join(c if c.isalnum() else "_" for c in case.name)[:60]
    shutil.copytree(template, S, symlinks=True)
    cleanup = None
    try:
        try:
            made = case.setup(S) if case.setup else None
            cleanup = made if callable(made) else None
        except subprocess.CalledProcessError as e:
            if case.root:
                return "skip", f"cannot mount here ({e})"
            raise
        before = snapshot(S)
        proc = subprocess.Popen(
            command(case.argv, S), cwd=S, env=env(), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        t0 = time.time()
        if case.interrupt:  # Ctrl-C once the command has got somewhere
            while proc.poll() is None and time.time() - t0 < case.timeout:
                if case.interrupt(S):
                    proc.send_signal(signal.SIGINT)
                    break
                time.sleep(0.05)
        try:
            out, err = proc.communicate(timeout=max(1.0, case.timeout - (time.time() - t0)))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return "FAIL", f"hang: no answer in {case.timeout:.0f} s"
        r = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        after = snapshot(S)
        problems = []
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        if "Traceback" in r.stderr:
            problems.append("traceback on stderr")
        if case.expect == "refuse":
            errors = [line for line in lines if line.startswith("error:")]
            if r.returncode != case.code:
                problems.append(f"exit {r.returncode}, expected {case.code}")
            if len(errors) != 1 or not lines or not lines[-1].startswith("error:"):
                problems.append(f"{len(errors)} error lines; last line {lines[-1:]!r}")
            elif not case.noisy and any(not x.startswith(("error:", "note:")) for x in lines):
                others = [x for x in lines if not x.startswith(("error:", "note:"))]
                problems.append(f"other stderr lines: {others[:2]}")
            for want in case.says:
                want = want.replace("{S}", str(S))
                if errors and want not in errors[-1]:
                    problems.append(f"error line lacks {want!r}")
        elif case.expect == "interrupt":  # Ctrl-C: exit 130, and (check) a resume that works
            if r.returncode != 130:
                problems.append(f"exit {r.returncode}, expected 130")
            if case.check and not problems:
                problem = case.check(S, r.stdout, r.stderr)
                if problem:
                    problems.append(problem)
        else:
            if r.returncode != 0:
                problems.append(f"exit {r.returncode}, expected 0: {lines[-1:]}")
            if case.check and not problems:
                problem = case.check(S, r.stdout, r.stderr)
                if problem:
                    problems.append(problem)
        protect = (
            case.protect
            if case.expect == "refuse"
            else (case.protect if case.protect != (".",) else ("data", "photos"))
        )
        for rel in protect:
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
        detail = (lines[-1] if lines else "(no stderr)")[:160]
        return ("FAIL", "; ".join(problems) + f" | {detail}") if problems else ("pass", detail)
    finally:
        if cleanup:
            cleanup()


def guarded(case: Case, template: Path, work: Path) -> tuple[str, str]:
    try:
        return run_case(case, template, work)
    except Exception as e:  # a fault of the probe itself is a failure too, not a crash
        return "FAIL", f"probe error: {type(e).__name__}: {e}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", default="", help="only the cases whose name contains this (a|b: either)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--quick", action="store_true", help="a sample of the cases (the test suite's)")
    a = ap.parse_args(argv)
    todo = [c for c in cases() if any(k in c.name.lower() for k in a.k.lower().split("|"))]
    if a.quick:  # the first case of each kind and outcome, and every 16th: minutes
        firsts = {(c.guards, c.expect): c for c in reversed(todo)}.values()
        todo = [c for i, c in enumerate(todo) if c in firsts or i % 16 == 0]
    if a.list:
        for c in todo:
            print(f"{c.guards:9} {c.expect:6} {c.name}")
        return 0
    with tempfile.TemporaryDirectory(prefix="probe_cli_") as tmp:
        tmp = Path(tmp)
        t0 = time.time()
        template = build_template(tmp / "template")
        with ThreadPoolExecutor(a.jobs) as pool:
            results = list(pool.map(lambda c: guarded(c, template, tmp), todo))
        counts = Counter(status for status, _ in results)
        for c, (status, detail) in zip(todo, results, strict=True):
            print(f"{status:4} {c.guards:9} {c.expect:6} {c.name}: {detail}")
        by_guard = Counter(c.guards for c in todo)
        print(
            f"\n{len(todo)} cases ({', '.join(f'{k} {v}' for k, v in sorted(by_guard.items()))}): "
            f"{counts['pass']} passed, {counts['FAIL']} failed, {counts['skip']} skipped "
            f"in {time.time() - t0:.0f} s"
        )
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
