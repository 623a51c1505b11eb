"""course.colab on a stand-in for Colab: ``google.colab`` in sys.modules, a Drive mount that
makes a folder, and answers typed at the prompt."""

import sys
import types

import pytest
from conftest import tiny_config

from course import colab
from redo_lite.train import Trainer


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    mounted = []

    def mount(point):
        if getattr(mount, "refuse", False):
            raise ValueError("mount failed")
        (tmp_path / "drive" / "MyDrive").mkdir(parents=True, exist_ok=True)
        mounted.append(point)

    drive = types.SimpleNamespace(mount=mount)
    google = types.ModuleType("google")
    pkg = types.ModuleType("google.colab")
    pkg.drive = drive
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", pkg)
    monkeypatch.setitem(sys.modules, "google.colab.drive", drive)
    return types.SimpleNamespace(mount=mount, mounted=mounted, point=tmp_path / "drive")


def test_off_colab_the_run_folder_is_local(tmp_path):
    assert not colab.on_colab()
    assert colab.run_dir("r", local=tmp_path) == tmp_path / "r"


@pytest.mark.parametrize("answer, on_drive", [("", True), ("y", True), ("n", False), ("No", False)])
def test_on_colab_it_asks_and_follows_the_answer(
    fake_colab, monkeypatch, tmp_path, answer, on_drive
):
    monkeypatch.setattr("builtins.input", lambda prompt: answer)
    path = colab.run_dir("r", local=tmp_path / "runs", mount_point=fake_colab.point)
    drive_path = fake_colab.point / "MyDrive" / colab.DRIVE_FOLDER / "r"
    assert path == (drive_path if on_drive else tmp_path / "runs" / "r")
    assert bool(fake_colab.mounted) == on_drive
    assert not path.exists()  # the Trainer makes the run folder, not run_dir


def test_a_refused_mount_falls_back_to_the_local_folder(fake_colab, tmp_path, capsys):
    fake_colab.mount.refuse = True
    path = colab.run_dir("r", local=tmp_path / "runs", drive=True, mount_point=fake_colab.point)
    assert path == tmp_path / "runs" / "r"
    assert "Google Drive not mounted (mount failed)" in capsys.readouterr().out


def test_a_run_on_drive_resumes_after_a_disconnect(fake_colab, tiny_c2mnist, capsys):
    cfg = tiny_config(steps=4, eval_every=2)
    run = colab.run_dir("tiny", drive=True, mount_point=fake_colab.point)
    assert "new run" in capsys.readouterr().out
    Trainer(cfg, tiny_c2mnist, run, seed=0, progress=False).fit(steps=2)
    # a new session: the machine is new, Drive is mounted again and the same folder comes back
    again = colab.run_dir("tiny", drive=True, mount_point=fake_colab.point)
    assert again == run and "resumes from its last checkpoint" in capsys.readouterr().out
    trainer = Trainer(cfg, tiny_c2mnist, again, seed=0, progress=False)
    assert trainer.resumed and trainer.step == 2


def test_device_report_says_what_it_found(monkeypatch, fake_colab):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    text = colab.device_report()
    assert text.startswith("no GPU") and "Runtime > Change runtime type" in text
    assert torch.__version__ in text
