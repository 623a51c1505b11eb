"""One-line errors everywhere: every command line of the project ends a failure with
``error: <file>: <what is wrong>`` on stderr and exit status 2, before anything is written
(``--debug``: the traceback instead). In-process, so the table stays fast; ``tools/probe_cli.py``
(``test_probe_cli_finds_nothing``, slow) runs its own table through real subprocesses."""

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from data_prep import c2mnist, cub, flowers, flowers_lfw, lfw, shapes
from redo_lite.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err and err[-1].startswith("error: "), err
    assert sum(line.startswith("error:") for line in err) == 1 and "Traceback" not in "".join(err)
    assert all(line.startswith(("error:", "note:")) for line in err), err
    return err[-1]


def refused(capsys, fn, argv) -> str:
    with pytest.raises(SystemExit) as e:
        fn(argv)
    assert e.value.code == 2
    return one_error_line(capsys)


def files_under(root: Path) -> list:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


TRAIN_ARGS = [
    (["--size", "0"], "argument --size: expected a power of two from 8 to 1024"),
    (["--size", "33"], "got '33'"),
    (["--regions", "1"], "argument --regions: expected a whole number from 2 to 6, got '1'"),
    (["--threads", "0"], "argument --threads: expected a whole number from 1 to 1024"),
    (["--threads", "-1"], "argument --threads"),
    (["--seed", str(10**30)], "argument --seed: expected a whole number from 0 to 4294967295"),
    (["--seed", "-1"], "argument --seed"),
    (["--steps", "0"], "argument --steps: expected a whole number from 1"),
    (["--minutes", "0"], "argument --minutes: expected a number above 0"),
    (["--minutes", "-2"], "argument --minutes"),
    (["--minutes", "nan"], "argument --minutes"),
    (["--preset", "nope"], "unknown preset 'nope'; known: c2mnist-cpu"),
    (["--device", "gpu"], "--device 'gpu': expected cpu, cuda, cuda:N or mps"),
    (["--device", "cuda:99"], "--device 'cuda:99'"),
    (["--set", "batch=abc"], "batch: expected a whole number from 1 to 1024, got 'abc'"),
    (["--set", "batch=0"], "batch: expected a whole number"),
    (["--set", "lr_f=-1"], "lr_f: expected a number above 0"),
    (["--set", "eval_every=0"], "eval_every: expected a whole number of at least 1"),
    (["--set", "restart_on=sometimes"], "restart_on: expected one of soft, hard"),
    (["--set", "dice=1"], "expected KEY=VALUE with KEY one of"),
    (["--preset", "c2mnist-cpu", "--size", "64"], "preset 'c2mnist-cpu' is 32px"),
    (["--size", "16", "--set", "size=32"], "--size 16 and --set size=32 disagree"),
]


@pytest.mark.parametrize("flags,message", TRAIN_ARGS)
def test_train_arguments_are_checked_before_anything_is_written(
    tiny_c2mnist, tmp_path, capsys, flags, message
):
    line = refused(
        capsys, main, ["train", "--data", str(tiny_c2mnist), "--out", str(tmp_path / "r"), *flags]
    )
    assert message in line
    assert not (tmp_path / "r").exists()


OTHER_ARGS = [
    (["describe", "--preset", "c2mnist-cpu", "--regions", "1"], "argument --regions"),
    (["describe", "--preset", "x"], "unknown preset 'x'"),
    (["evaluate", "--run", "r", "--data", "d", "--split", "../x"], "argument --split"),
    (["evaluate", "--run", "nowhere", "--data", "d"], "nowhere: no such run folder"),
    (["demo", "--train-minutes", "0"], "argument --train-minutes"),
    (["segment", "--run", "r"], "the following arguments are required: --images, --out"),
    (["train", "--data", "nowhere", "--out", "x"], "nowhere: no such folder (--data)"),
    ([], "the following arguments are required: cmd"),
]


@pytest.mark.parametrize("argv,message", OTHER_ARGS)
def test_other_commands_refuse_in_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert message in refused(capsys, main, argv)
    assert files_under(tmp_path) == []


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception, match="no such run folder"):
        main(["evaluate", "--run", "nowhere", "--data", "d", "--debug"])


def test_an_unexpected_failure_is_one_line_too(monkeypatch, capsys):
    from redo_lite.files import run_cli

    def bug():
        raise ZeroDivisionError("division by zero")

    with pytest.raises(SystemExit) as e:
        run_cli(bug, [])
    assert e.value.code == 2
    assert "unexpected ZeroDivisionError" in one_error_line(capsys)


# --- data_prep scripts ---------------------------------------------------------------------------
PREP_ARGS = [
    (c2mnist.main, ["--size", "0"], "argument --size: expected a whole number from 8 to 2048"),
    (c2mnist.main, ["--seed", "-3"], "argument --seed"),
    (c2mnist.main, ["--train", "0"], "argument --train"),
    (c2mnist.main, ["--min-cover", "0"], "argument --min-cover"),
    (shapes.main, ["--val", "-1"], "argument --val"),
    (flowers.main, ["--size", "big"], "argument --size"),
    (lfw.main, ["--size", "1"], "argument --size"),
    (cub.main, ["--size", "99999"], "argument --size"),
]


@pytest.mark.parametrize("fn,flags,message", PREP_ARGS)
def test_data_prep_arguments_are_checked(tmp_path, capsys, fn, flags, message):
    assert message in refused(capsys, fn, ["--out", str(tmp_path / "o"), *flags])
    assert files_under(tmp_path) == []


def test_data_prep_refuses_a_folder_that_is_not_its_own(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.pdf").write_text("x")
    line = refused(capsys, c2mnist.main, ["--out", str(mine), "--size", "16", "--train", "2"])
    assert "mine: not a folder built by data_prep" in line
    assert files_under(tmp_path) == ["mine", "mine/thesis.pdf"]


def test_data_prep_refuses_other_settings_in_its_own_folder(tmp_path, capsys):
    out = tmp_path / "d"
    args = ["--out", str(out), "--train", "3", "--val", "1", "--test", "1"]
    shapes.main([*args, "--size", "16"])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    line = refused(capsys, shapes.main, [*args, "--size", "32"])
    assert "built with size=16, not size=32" in line
    line = refused(capsys, c2mnist.main, [*args, "--size", "16"])
    assert "holds the data set 'textured-shapes', not 'colored-2-MNIST'" in line
    shapes.main([*args, "--size", "16"])  # the same settings again: fine, nothing redone
    assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}


def flowers_source(root: Path) -> Path:
    from data_prep.fixtures import make_flowers

    return make_flowers(root, n=6, h=30, w=40)


def test_a_missing_setid_mat_is_named(tmp_path, capsys):
    src = flowers_source(tmp_path / "src")
    (src / "setid.mat").unlink()
    line = refused(capsys, flowers.main, ["--out", str(tmp_path / "o"), "--from", str(src)])
    assert "setid.mat: not found" in line and "102flowers.tgz" in line
    assert not (tmp_path / "o").exists()


def test_hostile_archives_are_refused_in_one_line(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    with tarfile.open(src / "102flowers.tgz", "w:gz") as t:
        info = tarfile.TarInfo("../../escape.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    (src / "102segmentations.tgz").write_bytes(b"")
    (src / "setid.mat").write_bytes(b"")
    line = refused(capsys, flowers.main, ["--out", str(tmp_path / "o"), "--from", str(src)])
    assert "102flowers.tgz: member '../../escape.txt' escapes the target folder" in line
    assert not (tmp_path / "escape.txt").exists() and not list(tmp_path.rglob("escape.txt"))


def test_offline_lfw_without_splits_says_to_pass_them(tmp_path, capsys, monkeypatch):
    import urllib.error
    import urllib.request

    def offline(*a, **kw):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    src = tmp_path / "src"
    (src / "lfw_funneled").mkdir(parents=True)
    (src / "parts_lfw_funneled_gt_images").mkdir()
    line = refused(capsys, lfw.main, ["--out", str(tmp_path / "o"), "--from", str(src)])
    assert "cannot download" in line and "pass --splits DIR" in line
    assert not list(tmp_path.rglob("*.part"))


def test_a_failed_download_leaves_no_partial_file(tmp_path, monkeypatch):
    import urllib.request

    from data_prep.download import DownloadError, download

    class Cut(io.BytesIO):
        def read(self, *a):
            raise ConnectionResetError(104, "Connection reset by peer")

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **kw: Cut())
    with pytest.raises(DownloadError, match="x.bin: cannot download"):
        download("http://example.invalid/x.bin", tmp_path / "x.bin")
    assert list(tmp_path.iterdir()) == []


def test_cub_and_the_fused_set_name_their_bad_files(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "CUB_200_2011" / "images").mkdir(parents=True)
    (src / "segmentations").mkdir()
    (src / "CUB_200_2011" / "images.txt").write_text("1 a.jpg\n2\n")
    (src / "split.txt").write_text("1 0\n")
    line = refused(
        capsys,
        cub.main,
        ["--out", str(tmp_path / "o"), "--from", str(src), "--split", str(src / "split.txt")],
    )
    assert "images.txt:2: expected 'id path'" in line
    line = refused(
        capsys,
        flowers_lfw.main,
        ["--out", str(tmp_path / "f"), "--flowers", str(src), "--lfw", str(src)],
    )
    assert "splits/train.txt: not found" in line


def test_scripts_end_in_one_line_as_subprocesses_too(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "data_prep.flowers",
            "--out",
            str(tmp_path / "o"),
            "--from",
            str(tmp_path / "none"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert (
        r.returncode == 2 and r.stderr.strip().startswith("error: ") and "Traceback" not in r.stderr
    )
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_probe_cli_finds_nothing():
    """The hostile-input probe (tools/probe_cli.py) through the real CLIs: its --quick sample (the
    first case of each kind and outcome, and every 16th); all of them: run the tool."""
    r = subprocess.run(
        [sys.executable, "tools/probe_cli.py", "--jobs", "2", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
