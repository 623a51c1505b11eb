"""One-line errors everywhere: every command line of the project ends a failure with
``error: <file>: <what is wrong>`` on stderr and exit status 2, before anything is written
(``--debug``: the traceback instead). The cases that are a command and what it must say are rows of
the hostile-input table (``tests/hostile_cases.toml``, run by ``tests/test_hostile.py``); what
stays here needs more than a command (a patched network, a built data set, a subprocess)."""

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


# The arguments each command refuses (a table of command, what the line says) are rows of the
# hostile-input table, tests/hostile_cases.toml ("argument: ..."), run by tests/test_hostile.py.


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
