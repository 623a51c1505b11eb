"""Safe with a user's own files: every input accounted for, runs tied to their inputs, nothing of
the user's overwritten, faults reported in one line with the last good files kept.

Each kind is a table of cases for the functions themselves; the hostile-input table
(``tests/hostile_cases.toml``, run by ``tests/test_hostile.py``) runs the same kinds, and more,
through the real command lines."""

import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from redo_lite import checkpoint as ckpt
from redo_lite import runfolder
from redo_lite.config import Config, ConfigError, get_preset
from redo_lite.data import DataError, ImageFolderData, list_images
from redo_lite.files import WriteError, append_line, atomic_write, atomic_write_text

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def no_hang():
    """A FIFO opened by mistake blocks forever: fail instead, after 20 s."""

    def boom(*_):
        raise TimeoutError("hung (a FIFO opened?)")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def img(path: Path, h=20, w=20, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path, **kw)
    return path


def mask(path: Path, h=20, w=20, label=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    m = np.zeros((h, w), np.uint8)
    m[: h // 2] = label
    Image.fromarray(m, "L").save(path)
    return path


def data_folder(
    root: Path, stems=("a", "b", "c", "d"), img_ext=".png", mask_ext=".png", splits=None
):
    for s in stems:
        img(root / "images" / f"{s}{img_ext}")
        if mask_ext:
            mask(root / "masks" / f"{s}{mask_ext}")
    for name, text in (splits or {}).items():
        (root / "splits").mkdir(exist_ok=True)
        p = root / "splits" / f"{name}.txt"
        (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return root


def tree(root: Path) -> dict:
    """Every path under root with its content (FIFOs by kind only, never opened)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p)] = ("link", os.readlink(p))
        elif p.is_file():
            out[str(p)] = p.read_bytes()
        else:
            out[str(p)] = "dir" if p.is_dir() else "special"
    return out


# --- every input accounted for ------------------------------------------------------------------
def exif_jpeg(path: Path, w=24, h=16, orientation=6):
    image = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, exif=exif.tobytes())
    return path


ACCEPTED = {
    "webp, bmp, tif, gif, ppm": lambda r: [
        img(r / "images" / f"{s}{e}")
        for s, e in zip("abcde", (".webp", ".bmp", ".tif", ".gif", ".ppm"), strict=True)
    ],
    "upper-case extensions": lambda r: [
        img(r / "images" / n) for n in ("a.PNG", "b.JPG", "c.Jpeg")
    ],
    "nested folders": lambda r: [img(r / "images" / n) for n in ("a.png", "x/b.png", "x/y/c.png")],
    "hidden files skipped": lambda r: [
        img(r / "images" / "a.png"),
        img(r / "images" / ".b.png"),
        img(r / "images" / ".ipynb_checkpoints" / "c.png"),
    ],
    "other files skipped": lambda r: [
        img(r / "images" / "a.png"),
        (r / "images" / "notes.txt").write_text("mine"),
    ],
}
EXPECTED_STEMS = {
    "webp, bmp, tif, gif, ppm": ["a", "b", "c", "d", "e"],
    "upper-case extensions": ["a", "b", "c"],
    "nested folders": ["a", "x/b", "x/y/c"],
    "hidden files skipped": ["a"],
    "other files skipped": ["a"],
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_image_kinds_and_layouts_are_read(tmp_path, case, capsys):
    ACCEPTED[case](tmp_path)
    d = ImageFolderData(tmp_path, "train", 8, 2)
    assert sorted(d.stems) == EXPECTED_STEMS[case] and d.images.shape[1:] == (3, 8, 8)
    if "skipped" in case:
        assert "note: " in capsys.readouterr().err  # said, not silent


REFUSED_INPUTS = {
    "a HEIC photo": (
        lambda r: (r / "images" / "b.heic").write_bytes(b"\0\0\0\x18ftypheic"),
        r"b.heic: HEIC is not a format Pillow reads",
    ),
    "a broken .webp": (
        lambda r: (r / "images" / "b.webp").write_bytes(b"RIFF0000WEBPjunk"),
        r"b.webp: cannot read this image",
    ),
    "a FIFO as an image": (lambda r: os.mkfifo(r / "images" / "b.png"), r"b.png: is a named pipe"),
    "a FIFO with another extension": (
        lambda r: os.mkfifo(r / "images" / "b.txt"),
        r"b.txt: is a named pipe",
    ),
    "a device as an image": (
        lambda r: os.symlink("/dev/zero", r / "images" / "b.png"),
        r"b.png: is a character device",
    ),
    "a broken link": (
        lambda r: os.symlink(r / "gone.png", r / "images" / "b.png"),
        r"b.png: a symbolic link to nothing",
    ),
    "one stem twice": (lambda r: img(r / "images" / "a.PNG"), r"duplicate stem 'a'"),
    "one name in two Unicode forms": (
        lambda r: (img(r / "images" / "\u00e9.png"), img(r / "images" / "e\u0301.png")),
        r"duplicate stem",
    ),
    "a FIFO as a mask": (
        lambda r: (mask(r / "masks" / "a.png"), os.mkfifo(r / "masks" / "b.png")),
        r"masks/b.png: is a named pipe",
    ),
    "a JPEG mask": (
        lambda r: (mask(r / "masks" / "a.png"), img(r / "masks" / "c.jpg")),
        r"c.jpg: a mask must be saved losslessly",
    ),
    "half the masks": (lambda r: mask(r / "masks" / "a.png"), r"mask missing for image c.png"),
    "a FIFO as the split file": (
        lambda r: ((r / "splits").mkdir(), os.mkfifo(r / "splits" / "train.txt")),
        r"train.txt: is a named pipe",
    ),
    "a split file that is a folder": (
        lambda r: (r / "splits" / "train.txt").mkdir(parents=True),
        r"train.txt: is a folder",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED_INPUTS))
def test_unusable_inputs_are_refused_by_name(tmp_path, case):
    img(tmp_path / "images" / "a.png")
    img(tmp_path / "images" / "c.png")
    plant, message = REFUSED_INPUTS[case]
    plant(tmp_path)
    with pytest.raises(DataError, match=message):
        ImageFolderData(tmp_path, "train", 8, 2)


SPLITS = {
    "a stem listed twice": ({"train": "a\nb\na\n"}, r"train.txt:3: 'a' is listed twice"),
    "a val stem also in test": (
        {"train": "a\n", "val": "b\n", "test": "c\nb\n"},
        r"2? ?stem\(s\) are in both test.txt and val.txt, e.g. 'b'",
    ),
    "a train stem also in val": ({"train": "a\nb\n", "val": "b\n"}, r"train.txt and val.txt"),
    "not UTF-8": ({"train": b"a\n\xe9\n"}, r"train.txt: not UTF-8 text \(byte 0xe9 on line 2\)"),
    "a file name instead of a stem": ({"train": "a.png\n"}, r"without the extension: 'a'"),
    "an empty split": ({"train": "\n\n"}, r"train.txt: empty split file"),
}


@pytest.mark.parametrize("case", sorted(SPLITS))
def test_split_files_are_checked(tmp_path, case):
    files, message = SPLITS[case]
    data_folder(tmp_path, splits=files)
    with pytest.raises(DataError, match=message):
        ImageFolderData(tmp_path, "train", 8, 2)


def test_split_files_in_any_everyday_spelling_are_read(tmp_path):
    """BOM, CRLF, blank lines, spaces around a stem, stems with spaces, another Unicode form."""
    stems = ["my photo 1", "caf\u00e9", "b", "c"]
    data_folder(
        tmp_path,
        stems,
        splits={
            "train": "\ufeffmy photo 1\r\n\r\n  cafe\u0301  \r\n".encode(),
            "val": "b\n",
            "test": "c",
        },
    )
    d = ImageFolderData(tmp_path, "train", 8, 2, need_masks=True)
    assert d.stems == ["my photo 1", "caf\u00e9"] and d.masks is not None
    for split in ("val", "test"):  # scored: both have their masks
        assert ImageFolderData(tmp_path, split, 8, 2, need_masks=True).masks is not None


def test_masks_with_upper_case_extensions_are_found(tmp_path):
    data_folder(tmp_path, mask_ext=".PNG", splits={"train": "a\nb\n", "val": "c\n", "test": "d\n"})
    assert ImageFolderData(tmp_path, "val", 8, 2, need_masks=True).masks.shape == (1, 8, 8)


def test_exif_orientation_is_applied_to_images_and_masks(tmp_path):
    """A photo stored 24x16 with orientation 6 is shown 16x24: its mask is drawn as displayed."""
    exif_jpeg(tmp_path / "images" / "p.jpg")
    m = np.zeros((24, 16), np.uint8)  # displayed: 16 wide, 24 high
    m[:12] = 1  # the top half as displayed
    (tmp_path / "masks").mkdir()
    Image.fromarray(m, "L").save(tmp_path / "masks" / "p.png")
    d = ImageFolderData(tmp_path, None, 16, 2, need_masks=True)
    assert d.masks[0, :4].eq(1).all() and d.masks[0, -4:].eq(0).all()
    # a mask drawn on the stored pixels: named, with the orientation
    Image.fromarray(np.zeros((16, 24), np.uint8), "L").save(tmp_path / "masks" / "p.png")
    with pytest.raises(
        DataError, match=r"p.png: mask is 24x16 but its image is 16x24 as displayed"
    ):
        ImageFolderData(tmp_path, None, 16, 2)
    # an oriented mask is turned too
    exif_m = Image.fromarray(np.zeros((16, 24), np.uint8), "L")
    exif = Image.Exif()
    exif[0x0112] = 6
    exif_m.save(tmp_path / "masks" / "p.png", exif=exif.tobytes())
    assert ImageFolderData(tmp_path, None, 16, 2).masks is not None


def test_orphan_masks_are_noted(tmp_path, capsys):
    data_folder(tmp_path, ("a", "b"))
    mask(tmp_path / "masks" / "zz.png")
    ImageFolderData(tmp_path, None, 8, 2)
    assert "zz.png" in capsys.readouterr().err


# --- settings -------------------------------------------------------------------------------------
BAD_SETTINGS = [
    ("batch=abc", r"batch: expected a whole number from 1 to 1024, got 'abc'"),
    ("batch=0", r"batch: expected a whole number from 1"),
    ("batch=2.5", r"batch: expected a whole number"),
    ("batch=true", r"batch: expected a whole number"),
    ("lr_f=-1", r"lr_f: expected a number above 0 and at most 1, got -1"),
    ("lr_f=NaN", r"lr_f: expected a number above 0"),
    ("eval_every=0", r"eval_every: expected a whole number of at least 1, got 0"),
    ("restart_on=sometimes", r"restart_on: expected one of soft, hard, got 'sometimes'"),
    ("select_metric=dice", r"select_metric: expected one of iou, iou_split, acc, acc_split"),
    ("size=33", r"size: expected a power of two from 8 to 1024, got 33"),
    ("regions=1", r"regions: expected a whole number from 2 to 6, got 1"),
    ("betas=[0.5]", r"betas: expected two numbers in \[0, 1\)"),
    ("f_ppm_bins=[0, 2]", r"f_ppm_bins: expected a list of whole numbers from 1"),
    ("g_attention_at=5", r"g_attention_at: expected 0 \(none\) or a power of two from 4 to 16"),
    ("f_downs=4", r"f_downs: expected at most 3 at size 32"),
    ("f_ema=1", r"f_ema: expected a number from 0 to"),
    ("g_hard_input=1", r"g_hard_input: expected true or false, got 1"),
    ("preset=", r"preset: expected a name"),
    ("nonsense=1", r"expected KEY=VALUE with KEY one of"),
    ("batch", r"expected KEY=VALUE"),
]


@pytest.mark.parametrize("item,message", BAD_SETTINGS)
def test_every_setting_is_checked_with_its_range(item, message):
    with pytest.raises(ConfigError, match=message):
        get_preset("c2mnist-cpu").override([item])


def test_every_setting_has_a_rule():
    from redo_lite.config import RULES

    fields = set(Config().to_dict())
    assert fields <= set(RULES), fields - set(RULES)


BAD_CONFIG_JSON = {
    "not JSON": ("{oops", r"config.json: not valid JSON \(line 1"),
    "a list": ("[1, 2]", r"config.json: expected a JSON object"),
    "a wrong type": (json.dumps({"batch": "four"}), r"config.json: batch: expected a whole"),
    "an unknown key": (json.dumps({"dice": 1}), r"config.json: unknown setting 'dice'"),
    "not UTF-8": (b"\xff\xfe{", r"config.json: not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIG_JSON))
def test_a_hand_edited_config_json_is_named(tmp_path, case):
    text, message = BAD_CONFIG_JSON[case]
    p = tmp_path / "config.json"
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    with pytest.raises(ConfigError if case != "not UTF-8" else Exception, match=message):
        Config.load(p)


# --- run folders: ours only, locked, tied to their data and seed -------------------------------
FOLDERS = {
    "new": (lambda r: None, "new"),
    "empty": (lambda r: r.mkdir(), "empty"),
    "a start cut short": (lambda r: (r.mkdir(), (r / "redo_run.lock").write_text("{}")), "empty"),
    "marked": (
        lambda r: (r.mkdir(), (r / "redo_run.json").write_text('{"made_by": "redo_lite train"}')),
        "marked",
    ),
    "made before markers": (
        lambda r: (
            r.mkdir(),
            get_preset("shapes-cpu").save(r / "config.json"),
            (r / "metrics.jsonl").write_text(""),
        ),
        "legacy",
    ),
}
FOREIGN = {
    "the user's files": lambda r: (r.mkdir(), (r / "notes.txt").write_text("x")),
    "the user's *.tmp": lambda r: (r.mkdir(), (r / "draft.tmp").write_text("x")),
    "only a metrics.jsonl": lambda r: (r.mkdir(), (r / "metrics.jsonl").write_text("{}\n")),
    "another program's config.json": lambda r: (
        r.mkdir(),
        (r / "config.json").write_text('{"lr": 1}'),
    ),
    "a file": lambda r: r.write_text("x"),
}


@pytest.mark.parametrize("case", sorted(FOLDERS))
def test_run_folders_train_may_use(tmp_path, case):
    make, state = FOLDERS[case]
    make(tmp_path / "run")
    assert runfolder.owned(tmp_path / "run") == state


@pytest.mark.parametrize("case", sorted(FOREIGN))
def test_any_other_folder_is_refused_untouched(tmp_path, case):
    FOREIGN[case](tmp_path / "run")
    before = tree(tmp_path)
    with pytest.raises(runfolder.RunFolderError, match=r"run: (not a redo_lite run folder|exists)"):
        runfolder.open_run(tmp_path / "run")
    assert tree(tmp_path) == before


def test_only_our_own_temporary_files_are_removed(tmp_path):
    run = tmp_path / "run"
    runfolder.open_run(run).release()
    (run / "last.pt.tmp").write_bytes(b"half")
    (run / "draft.tmp").write_text("the user's")  # a marked folder holding a file of the user's
    runfolder.open_run(run).release()
    assert not (run / "last.pt.tmp").exists() and (run / "draft.tmp").read_text() == "the user's"


def test_a_busy_run_folder_is_refused_and_a_stale_lock_taken_over(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    lock = run / "redo_run.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)  # another process's lock (another open file)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, json.dumps({"pid": os.getppid(), "host": os.uname().nodename}).encode())
    with pytest.raises(runfolder.RunFolderError, match=rf"in use by process {os.getppid()}"):
        runfolder.open_run(run)
    os.close(fd)  # that process ends: its flock goes, its PID stays in the file
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename}))
    folder = runfolder.open_run(run)
    assert "stale lock" in capsys.readouterr().err
    assert json.loads(lock.read_text())["pid"] == os.getpid()
    again = runfolder.open_run(run)  # this process again (a notebook cell run twice): fine
    again.release()
    assert lock.exists()  # still held by the first holder
    folder.release()
    assert not lock.exists()


def test_a_run_records_its_data_and_seed_and_refuses_others(tmp_path, capsys):
    run = runfolder.open_run(tmp_path / "run")
    fp = {"train": {"images": 4, "hash": "a" * 32}}
    assert run.record_inputs(tmp_path / "d1", fp, None) == 0
    assert run.record_inputs(tmp_path / "d1", fp, None) == 0  # a resume without --seed
    assert run.record_inputs(tmp_path / "d1", fp, 0) == 0
    with pytest.raises(runfolder.RunFolderError, match=r"started with seed 0, not 3"):
        run.record_inputs(tmp_path / "d1", fp, 3)
    other = {"train": {"images": 5, "hash": "b" * 32}}
    with pytest.raises(
        runfolder.RunFolderError, match=r"trains on .*d1 .*4 images.* not on .*d2 .*5 images"
    ):
        run.record_inputs(tmp_path / "d2", other, None)
    run.record_inputs(tmp_path / "moved", fp, None)  # the same data, moved: noted, accepted
    assert "now at" in capsys.readouterr().err
    run.release()


def test_trainer_refuses_other_data_or_seed_on_resume(tiny_c2mnist, tmp_path):
    from conftest import tiny_config

    from redo_lite.train import Trainer

    cfg = tiny_config(regions=2, eval_every=2)
    data_folder(
        tmp_path / "d",
        stems=[f"s{i}" for i in range(6)],
        splits={"train": "s0\ns1\ns2\ns3\n", "val": "s4\n", "test": "s5\n"},
    )
    other = tmp_path / "e"
    data_folder(
        other,
        stems=[f"t{i}" for i in range(6)],
        splits={"train": "t0\nt1\nt2\nt3\n", "val": "t4\n", "test": "t5\n"},
    )
    t = Trainer(cfg, tmp_path / "d", tmp_path / "run", seed=2, progress=False)
    t.fit(steps=2)
    t.close()
    marker = json.loads((tmp_path / "run" / "redo_run.json").read_text())
    assert marker["inputs"]["seed"] == 2 and marker["inputs"]["fingerprint"]["val"]["images"] == 1
    before = tree(tmp_path / "run")
    with pytest.raises(runfolder.RunFolderError, match="this run trains on"):
        Trainer(cfg, other, tmp_path / "run", progress=False)
    with pytest.raises(runfolder.RunFolderError, match="seed 2, not 5"):
        Trainer(cfg, tmp_path / "d", tmp_path / "run", seed=5, progress=False)
    assert tree(tmp_path / "run") == before
    again = Trainer(cfg, tmp_path / "d", tmp_path / "run", progress=False)  # no seed: the run's
    assert again.resumed and again.seed == 2
    again.close()


# --- faults: one line, no partial file, the last good file kept -------------------------------
def failing_write(err):
    """os.fdopen as atomic_write calls it for its temporary file, failing with ``err``."""
    real = os.fdopen

    def fake_fdopen(fd, mode="r", *a, **kw):
        if "w" in mode and os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            os.close(fd)
            raise OSError(err, os.strerror(err))
        return real(fd, mode, *a, **kw)

    return fake_fdopen


@pytest.mark.parametrize(
    "err,cause",
    [
        (errno.ENOSPC, "disk full"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
        (errno.EDQUOT, "disk quota"),
    ],
)
def test_a_failed_write_keeps_the_old_file_and_leaves_no_tmp(tmp_path, monkeypatch, err, cause):
    path = tmp_path / "last.pt"
    ckpt.atomic_save({"step": 1}, path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "fdopen", failing_write(err))
    with pytest.raises(
        WriteError, match=rf"last.pt: cannot write in .*: {cause}.*previous last.pt is kept"
    ):
        ckpt.atomic_save({"step": 2}, path)
    assert path.read_bytes() == before and not list(tmp_path.glob("*.tmp"))


def test_a_disk_that_fills_during_torch_save_is_named(tmp_path, monkeypatch):
    """torch.save wraps the OSError of a full disk in a RuntimeError (inline_container.cc)."""
    import io

    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            raise OSError(errno.ENOSPC, "No space left on device")

    path = tmp_path / "best.pt"
    with pytest.raises(WriteError, match=r"best.pt: cannot write .*disk full.*nothing was written"):
        atomic_write(path, lambda f: torch.save({"x": torch.zeros(1000)}, Full()))
    assert not list(tmp_path.iterdir())


def test_training_on_a_full_disk_stops_in_one_line_with_last_pt_kept(
    tiny_c2mnist, tmp_path, monkeypatch
):
    from conftest import tiny_config

    from redo_lite.train import Trainer

    t = Trainer(tiny_config(eval_every=2), tiny_c2mnist, tmp_path / "run", progress=False)
    t.fit(steps=2)
    before = (tmp_path / "run" / "last.pt").read_bytes()

    def full(obj, f, *a, **kw):
        raise RuntimeError(
            "[enforce fail at inline_container.cc:672] . unexpected pos"
        ) from OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(WriteError, match=r"cannot write in .*run: disk full"):
        t.fit(steps=4)
    t.close()
    assert (tmp_path / "run" / "last.pt").read_bytes() == before
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_a_log_row_that_cannot_be_written_leaves_no_half_row(tmp_path, monkeypatch):
    log = tmp_path / "metrics.jsonl"
    append_line(log, '{"a": 1}')

    real_fdopen = os.fdopen

    class Half:
        def __init__(self, fd, *a, **kw):
            self.f = real_fdopen(fd, "a")  # noqa: SIM115

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, text):
            self.f.write(text[:5])
            self.f.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", Half)
    with pytest.raises(WriteError, match="disk full"):
        append_line(log, '{"b": 2}')
    monkeypatch.undo()
    assert log.read_text() == '{"a": 1}\n'


CHECKPOINTS = {
    "zero bytes": (lambda p: p.write_bytes(b""), r"empty file \(0 bytes\)"),
    "truncated": (
        lambda p: (
            ckpt.atomic_save({"x": torch.zeros(100)}, p),
            p.write_bytes(p.read_bytes()[:300]),
        ),
        r"truncated or corrupt",
    ),
    "text": (lambda p: p.write_text("hello"), r"not a readable checkpoint"),
    "a FIFO": (lambda p: os.mkfifo(p), r"is a named pipe"),
    "a folder": (lambda p: p.mkdir(), r"is a folder"),
    "a list": (lambda p: torch.save([1, 2], p), r"not a redo_lite checkpoint \(a list\)"),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINTS))
def test_unusable_checkpoints_are_named(tmp_path, case):
    make, message = CHECKPOINTS[case]
    make(tmp_path / "last.pt")
    with pytest.raises(ckpt.CheckpointError, match=rf"last.pt: .*{message}"):
        ckpt.load(tmp_path / "last.pt")


def test_the_pickle_refusal_is_shown_whole(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    torch.save({"nets": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ckpt.CheckpointError) as e:
        ckpt.load(tmp_path / "evil.pt")
    text = str(e.value)
    assert "GLOBAL posix.system" in text and text.endswith("torch.load.html.") and "\n" not in text


def test_a_checkpoint_missing_resume_entries_is_named(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match=r"last.pt: not a resumable .*'seed'"):
        ckpt.require({"nets": {}}, ("nets", "seed"), tmp_path / "last.pt")


def test_atomic_text_write_replaces_whole(tmp_path):
    atomic_write_text(tmp_path / "a.json", "one")
    atomic_write_text(tmp_path / "a.json", "two")
    assert (tmp_path / "a.json").read_text() == "two" and len(list(tmp_path.iterdir())) == 1


# --- segment and demo never write over the user's files -------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tiny_c2mnist, tmp_path_factory):
    from conftest import tiny_config

    from redo_lite.train import Trainer

    run = tmp_path_factory.mktemp("seg") / "run"
    t = Trainer(tiny_config(eval_every=1), tiny_c2mnist, run, progress=False)
    t.fit(steps=1)
    t.close()
    return run


SEGMENT_REFUSED = {
    "--out = --images": (lambda t: t / "photos", r"is inside --images"),
    "--out inside --images": (lambda t: t / "photos" / "labels", r"is inside --images"),
    "--out a link to --images": (
        lambda t: (os.symlink(t / "photos", t / "link"), t / "link")[1],
        r"is inside --images",
    ),
    "--out a parent whose map is an input": (
        lambda t: (img(t / "photos" / "photos" / "a.png"), t)[1],
        r"is one of the input images",
    ),
    "a label map already there": (
        lambda t: ((t / "out").mkdir(), (t / "out" / "a.png").write_text("mine"), t / "out")[2],
        r"out/a.png: already exists .*--overwrite",
    ),
    "--out a file": (
        lambda t: ((t / "f").write_text("x"), t / "f")[1],
        r"exists and is not a folder",
    ),
}


@pytest.mark.parametrize("case", sorted(SEGMENT_REFUSED))
def test_segment_never_writes_over_the_users_files(tiny_run, tmp_path, case):
    from redo_lite.run import segment_folder

    img(tmp_path / "photos" / "a.png")
    img(tmp_path / "photos" / "b c.jpg", 9, 7)
    where, message = SEGMENT_REFUSED[case]
    out = where(tmp_path)
    before = tree(tmp_path)
    with pytest.raises(WriteError, match=message):
        segment_folder(tiny_run, tmp_path / "photos", out)
    assert tree(tmp_path) == before


def test_segment_overwrites_only_when_asked_and_follows_exif(tiny_run, tmp_path):
    from redo_lite.run import segment_folder

    img(tmp_path / "photos" / "a.png")
    exif_jpeg(tmp_path / "photos" / "sub" / "p.jpg")  # stored 24x16, displayed 16x24
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_text("old")
    written = segment_folder(tiny_run, tmp_path / "photos", tmp_path / "out", overwrite=True)
    assert len(written) == 2 and Image.open(tmp_path / "out" / "a.png").mode == "L"
    assert Image.open(tmp_path / "out" / "sub" / "p.png").size == (16, 24)


def test_demo_writes_only_into_its_own_folders(tmp_path):
    from data_prep.c2mnist import build
    from redo_lite.demo import check_data, claim_out

    other = data_folder(tmp_path / "other")
    (other / "info.json").write_text('{"name": "flowers", "size": 128}')
    with pytest.raises(WriteError, match=r"another data set \('flowers'"):
        check_data(other, 32)
    small = tmp_path / "small"
    build(small, size=16, n_train=2, n_val=1, n_test=1)
    with pytest.raises(WriteError, match=r"16 px, not 32 px"):
        check_data(small, 32)
    assert check_data(small, 16) and not check_data(tmp_path / "new", 32)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "holiday.jpg").write_text("x")
    with pytest.raises(WriteError, match=r"not a demo folder \(it holds 'holiday.jpg'\)"):
        claim_out(tmp_path / "mine")
    claim_out(tmp_path / "demo")
    claim_out(tmp_path / "demo")  # its own: fine again
    assert (tmp_path / "demo" / "redo_demo.json").exists()


def test_stems_are_compared_in_nfc_form(tmp_path):
    img(tmp_path / "e\u0301t\u00e9.png")  # a file name in NFD (as macOS writes it)
    assert list(list_images(tmp_path)) == [unicodedata.normalize("NFC", "\u00e9t\u00e9")]


def test_a_run_made_before_markers_keeps_its_own_seed(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    get_preset("shapes-cpu").save(run / "config.json")
    torch.save({"seed": 2}, run / "last.pt")
    fp = {"train": {"images": 4, "hash": "a" * 32}}
    folder = runfolder.open_run(run)
    assert folder.state == "legacy" and not (run / "redo_run.json").exists()
    with pytest.raises(runfolder.RunFolderError, match=r"started with seed 2"):
        folder.record_inputs(tmp_path / "d", fp, 5)
    assert not (run / "redo_run.json").exists()  # refused: nothing written
    assert folder.record_inputs(tmp_path / "d", fp, None) == 2
    assert json.loads((run / "redo_run.json").read_text())["inputs"]["seed"] == 2
    assert "before runs recorded" in capsys.readouterr().err
    folder.release()


def test_a_finished_run_run_again_keeps_its_log(tiny_c2mnist, tmp_path):
    """Run again after its final test: nothing trained, no row added, the test row kept."""
    from conftest import tiny_config

    from redo_lite.train import Trainer

    cfg = tiny_config(eval_every=2)
    t = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False)
    t.fit(steps=2)
    t.final_test(tiny_c2mnist)
    t.close()
    log = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert '"kind": "test"' in log.splitlines()[-1]
    again = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False)
    assert again.fit(steps=2).get("finished")
    again.close()
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == log


def test_a_split_scored_where_masks_are_present_says_what_it_leaves_out(tmp_path, capsys):
    data_folder(tmp_path, splits={"train": "a\n", "val": "b\nc\n", "test": "d\n"})
    (tmp_path / "masks" / "c.png").unlink()
    d = ImageFolderData(tmp_path, "val", 8, 2, masks="where present")
    assert d.has_mask.tolist() == [True, False]
    assert "1 of the 2 images of split 'val' have no mask (e.g. c.png); they are not scored" in (
        capsys.readouterr().err
    )


def test_a_trainval_list_may_overlap_train_and_val(tmp_path):
    data_folder(
        tmp_path, splits={"train": "a\n", "val": "b\n", "test": "c\n", "trainval": "a\nb\n"}
    )
    assert ImageFolderData(tmp_path, "trainval", 8, 2).stems == ["a", "b"]


def test_a_bad_test_file_stops_training_before_it_starts(tmp_path):
    from conftest import tiny_config

    from redo_lite.train import Trainer

    data_folder(tmp_path / "d", stems=[f"s{i}" for i in range(6)],
                splits={"train": "s0\ns1\ns2\ns3\n", "val": "s4\n", "test": "s5\n"})  # fmt: skip
    Image.fromarray(np.full((20, 20), 7, np.uint8), "L").save(tmp_path / "d" / "masks" / "s5.png")
    with pytest.raises(DataError, match=r"s5.png: label 7 found but regions = 2"):
        Trainer(tiny_config(regions=2), tmp_path / "d", tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
