"""Atomic writes: a file appears under its real name complete, or not at all."""

from __future__ import annotations

import contextlib
import csv
import errno
import functools
import inspect
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable


def new_folder(root: Path, kind: str, stem: str = "") -> Path:
    """A name for a new folder <root>/<kind>-<stem>-<time>[-n]: never an existing one, never outside root."""
    import datetime as dt

    now = f"{dt.datetime.now():%Y%m%d-%H%M%S}"
    name = f"{kind}-{stem}-{now}" if stem else f"{kind}-{now}"
    folder, n = inside(root, name), 1
    while folder.exists():
        n += 1
        folder = inside(root, f"{name}-{n}")
    return folder


def inside(root: Path, *parts: str) -> Path:
    """root / parts, refused unless it stays inside root (even through symlinks): names that come from
    scenarios or from files on disk never place an output outside the folder the user chose."""
    from sim.errors import SimError

    root = Path(root)
    path = root.joinpath(*parts)
    try:
        ok = path.resolve().is_relative_to(root.resolve()) and path.resolve() != root.resolve()
    except (OSError, RuntimeError, ValueError):
        ok = False
    if not ok or any(p in ("", ".", "..") or "/" in p or "\\" in p or "\0" in p for p in parts):
        raise SimError(f"refusing to use {str(parts)[:80]} as a name under {root}: it would lead outside it")
    return path


def _file_mode() -> int:
    """The mode a plain open() would give (mkstemp makes files private)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes(path: Path, data: bytes, durable: bool = True, exclusive: bool = False) -> None:
    """Write all of `data` or nothing (a temporary file renamed into place). `durable` also waits until the
    bytes are on disk (fsync), so that a power cut cannot leave a renamed but empty file; files that are
    checked when read (batch chunks, by checksum) skip that wait. `exclusive` never replaces an existing
    file (FileExistsError), even one created meanwhile: the file is linked into place, not renamed."""
    path = Path(path)
    try:
        _write_bytes(path, data, durable, exclusive)
    except OSError as error:
        if error.filename is None or str(error.filename).endswith(".tmp"):  # name the file the user knows
            raise OSError(error.errno, error.strerror or str(error), str(path)) from None
        raise


def _write_bytes(path: Path, data: bytes, durable: bool = True, exclusive: bool = False) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if exclusive:
            _link(tmp, path, data)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _link(tmp: str, path: Path, data: bytes) -> None:
    """Put the finished file at `path` unless something is there. Filesystems without hard links (FAT, some
    network shares) get an exclusive create and a write instead, removed again if the write fails."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _file_mode())
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, exclusive: bool = False) -> None:
    write_bytes(path, text.encode("utf-8"), exclusive=exclusive)


def _finite(value):
    """JSON has no NaN or infinity: write null instead."""
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_json(path: Path, data) -> None:
    write_text(path, json.dumps(_finite(data), indent=2, default=str, allow_nan=False) + "\n")


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


@contextlib.contextmanager
def staged(final: Path):
    """A hidden sibling of `final` to write a whole folder into: renamed to `final` when the block ends, removed
    if it raises (a full disk, Ctrl-C), so a folder under its real name is always complete."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{final.name}.partial"
    staging.mkdir()
    try:
        yield staging
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def writes_folder(fn):
    """For a function that fills the new folder passed as its `out` argument: it fills a staged folder instead
    (see staged), and returns `out`."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        final = Path(bound.arguments["out"])
        with staged(final) as staging:
            bound.arguments["out"] = staging
            fn(*bound.args, **bound.kwargs)
        return final

    return wrapper
