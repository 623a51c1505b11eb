import io
import tarfile
import zipfile

import pytest

from data_prep.download import ChecksumError, UnsafeArchiveError, download, safe_extract, sha256sum


def make_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                data = b"hello"
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, "ok.txt"
                tar.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tar.addfile(info)
    return path


@pytest.mark.parametrize(
    "name,kind,message",
    [
        ("../evil.txt", "file", "escapes the target folder"),
        ("a/../../evil.txt", "file", "escapes the target folder"),
        ("/tmp/evil.txt", "file", "absolute path"),
        ("link", "symlink", "is a link"),
        ("hard", "hardlink", "is a link"),
        ("pipe", "fifo", "special file"),
    ],
)
def test_unsafe_tar_members_are_refused_before_anything_is_written(tmp_path, name, kind, message):
    arc = make_tar(tmp_path / "x.tar.gz", [("ok.txt", "file"), (name, kind)])
    with pytest.raises(UnsafeArchiveError, match=message):
        safe_extract(arc, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_unsafe_zip_members_are_refused(tmp_path):
    arc = tmp_path / "x.zip"
    with zipfile.ZipFile(arc, "w") as z:
        z.writestr("ok.txt", "fine")
        z.writestr("../../evil.txt", "bad")
    with pytest.raises(UnsafeArchiveError, match="escapes the target folder"):
        safe_extract(arc, tmp_path / "out")
    link = tmp_path / "l.zip"
    with zipfile.ZipFile(link, "w") as z:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        z.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        safe_extract(link, tmp_path / "out2")


def test_safe_archives_extract(tmp_path):
    arc = make_tar(
        tmp_path / "x.tar.gz", [("jpg/image_00001.jpg", "file"), ("./setid.mat", "file")]
    )
    out = safe_extract(arc, tmp_path / "out")
    assert (out / "jpg" / "image_00001.jpg").read_bytes() == b"hello" and (
        out / "setid.mat"
    ).exists()


def test_download_checks_the_checksum_and_deletes_a_bad_file(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    good = sha256sum(src)
    dest = download(src.as_uri(), tmp_path / "d" / "file.bin", good)
    assert dest.read_bytes() == b"payload"
    assert download("file:///nonexistent", dest, good) == dest  # already there: not fetched again
    with pytest.raises(
        ChecksumError, match=r"other.bin: checksum mismatch.*partial download was deleted"
    ):
        download(src.as_uri(), tmp_path / "d" / "other.bin", "0" * 64)
    assert not list((tmp_path / "d").glob("other.bin*"))
