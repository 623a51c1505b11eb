"""Downloading and unpacking, safely: checksums verified, archive members kept inside the target.

* ``download(url, dest, sha256)``: fetches to ``dest.part``, checks the SHA-256, then renames. A
  mismatch deletes the partial file and says so; an existing file with the right checksum is kept
  (idempotent).
* ``safe_extract(archive, target)``: .tar(.gz/.bz2/.xz/.tgz) or .zip. Every member is checked first:
  absolute paths, ``..`` that escape the target, links and device files are refused, naming the
  member, before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from redo_lite.files import cause, check_regular, make_folder


class UnsafeArchiveError(ValueError):
    pass


class ChecksumError(ValueError):
    pass


class DownloadError(OSError):
    """A download that failed (no network, a bad address, a server error); names the address."""


def digest(path: Path, algorithm: str, chunk: int = 1 << 20) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def sha256sum(path: Path) -> str:
    return digest(path, "sha256")


def _matches(path: Path, sha256: str | None, md5: str | None) -> tuple[bool, str]:
    for algorithm, want in (("sha256", sha256), ("md5", md5)):
        if want is not None:
            got = digest(path, algorithm)
            return got == want, f"expected {algorithm} {want}, got {got}"
    return True, ""


def download(url: str, dest: Path, sha256: str | None = None, md5: str | None = None) -> Path:
    """Fetch ``url`` to ``dest`` and verify it (SHA-256, else MD5 where that is all that is
    published; with neither, the file is kept unverified and the function says so)."""
    dest = Path(dest)
    if dest.exists() and _matches(dest, sha256, md5)[0]:
        print(f"{dest}: already downloaded")
        return dest
    make_folder(dest.parent)
    part = dest.with_name(dest.name + ".part")
    print(f"downloading {url} -> {dest}")
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(part, "wb") as f:
            shutil.copyfileobj(r, f, 1 << 20)
    except BaseException as e:  # no partial file is left behind, whatever stopped it
        part.unlink(missing_ok=True)
        if isinstance(e, urllib.error.HTTPError):
            raise DownloadError(f"{url}: cannot download (HTTP {e.code} {e.reason})") from None
        if isinstance(e, urllib.error.URLError):
            raise DownloadError(f"{url}: cannot download ({e.reason}; offline?)") from None
        if isinstance(e, OSError) and e.filename is None:
            raise DownloadError(f"{url}: cannot download ({cause(e)})") from None
        raise
    ok, why = _matches(part, sha256, md5)
    if not ok:
        part.unlink()
        raise ChecksumError(f"{dest}: checksum mismatch ({why}); the partial download was deleted")
    if sha256 is None and md5 is None:
        print(f"{dest}: no published checksum known; kept unverified")
    os.replace(part, dest)
    return dest


def _check_name(name: str, archive: Path) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} has an absolute path; refusing to extract"
        )
    depth = 0
    for part in p.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            raise UnsafeArchiveError(
                f"{archive}: member {name!r} escapes the target folder; refusing to extract"
            )


def safe_extract(archive: Path, target: Path) -> Path:
    archive, target = Path(archive), Path(target)
    check_regular(archive, "archive")
    if zipfile.is_zipfile(archive):
        try:
            z = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as e:
            raise UnsafeArchiveError(f"{archive}: a damaged zip archive ({e})") from None
        with z:
            for info in z.infolist():
                _check_name(info.filename, archive)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise UnsafeArchiveError(
                        f"{archive}: member {info.filename!r} is a symbolic link; refusing"
                    )
            make_folder(target)
            try:
                z.extractall(target)
            except (zipfile.BadZipFile, EOFError, zlib.error) as e:
                raise UnsafeArchiveError(f"{archive}: a damaged archive ({e})") from None
        return target
    try:
        tar = tarfile.open(archive)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise UnsafeArchiveError(f"{archive}: not a readable tar or zip archive ({e})") from None
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, EOFError, OSError) as e:
            raise UnsafeArchiveError(f"{archive}: a damaged archive ({e})") from None
        for m in members:
            _check_name(m.name, archive)
            if m.issym() or m.islnk():
                raise UnsafeArchiveError(
                    f"{archive}: member {m.name!r} is a link; refusing to extract"
                )
            if not (m.isfile() or m.isdir()):
                raise UnsafeArchiveError(
                    f"{archive}: member {m.name!r} is a special file; refusing to extract"
                )
        make_folder(target)
        kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        try:
            tar.extractall(target, members=members, **kw)
        except (tarfile.TarError, EOFError, zlib.error) as e:
            raise UnsafeArchiveError(f"{archive}: a damaged archive ({e})") from None
    return target
