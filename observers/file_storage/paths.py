"""Run folders and file names inside a file store: safe ids, safe names, atomic copies.

Run ids are claimed with ``os.mkdir``, which is atomic: when many processes start runs in the
same folder at once, each number goes to exactly one of them. Every name that comes from a user
(a run id, an artifact name) is checked so that it stays inside its folder.
"""
from __future__ import annotations

import contextlib
import itertools
import ntpath
import os
import threading
import time
from typing import Iterator

from expt.errors import ObserverError, UserInputError
from expt.sources import new_md5

# Files the observer writes itself; an artifact may not replace them.
RESERVED_NAMES = ("run.json", "config.json", "cout.txt", "metrics.json", "info.json")

_tmp_counter = itertools.count()
_CHUNK = 1 << 20


class UnsafePathError(ObserverError, UserInputError, ValueError):
    """A run id or artifact name would write outside its folder or over the observer's files."""

    def __init__(self, what: str, value: object, reason: str):
        self.what = what
        self.value = value
        super().__init__(f"Refusing {what} {value!r}: {reason}")


class RunDirExistsError(ObserverError, UserInputError, FileExistsError):
    """A run id chosen by the user (or another observer) names a folder that already exists."""

    def __init__(self, run_id: object, path: str):
        self.run_id = run_id
        self.path = path
        super().__init__(
            f"Run folder {path!r} already exists, so run id {run_id!r} is taken. Choose another "
            "id, or leave the id unset to get the next free number.")


def run_dir_name(run_id: object) -> str:
    """The folder name for a given run id, refusing ids that are not one plain path part."""
    name = str(run_id)
    if not name.strip():
        raise UnsafePathError("run id", run_id, "it is empty.")
    if name in (".", ".."):
        raise UnsafePathError("run id", run_id, "it names the folder itself or its parent.")
    if any(sep in name for sep in ("/", "\\", os.sep, "\0")) or os.path.isabs(name):
        raise UnsafePathError(
            "run id", run_id, "a run id is a folder name and may not contain path separators.")
    if name.startswith("_"):
        raise UnsafePathError(
            "run id", run_id, "names starting with '_' are kept for the store's own folders "
            "(_sources, _resources).")
    return name


def _max_numeric_id(basedir: str) -> int:
    with os.scandir(basedir) as entries:
        ids = [int(e.name) for e in entries if e.name.isdigit() and e.is_dir()]
    return max(ids, default=0)


_RESCAN_AFTER = 32  # collisions in a row before the folder is scanned again


def claim_numeric_dir(basedir: str, hint: int | None = None) -> tuple[int, str]:
    """Create ``basedir/<n>`` for the next free number n and return (n, path).

    The folder is scanned once for its largest number (or `hint`, a number known to be at
    least that large, is used instead); a number another process took in the meantime shows up
    as FileExistsError and the next one is tried, so no two runs ever share a folder.
    """
    if hint is None:
        os.makedirs(basedir, exist_ok=True)
    number = hint if hint is not None else _max_numeric_id(basedir) + 1
    collisions = 0
    while True:
        path = os.path.join(basedir, str(number))
        try:
            os.mkdir(path)
            return number, path
        except FileNotFoundError:  # the store folder was removed since the last run
            os.makedirs(basedir, exist_ok=True)
        except FileExistsError:
            collisions += 1
            if collisions % _RESCAN_AFTER == 0:  # far behind other processes: jump ahead
                number = max(number, _max_numeric_id(basedir)) + 1
            else:
                number += 1


def claim_named_dir(basedir: str, run_id: object) -> str:
    """Create ``basedir/<run_id>`` for an id chosen elsewhere; refuse an existing folder."""
    path = os.path.join(basedir, run_dir_name(run_id))
    try:
        os.mkdir(path)
    except FileNotFoundError:  # no store folder yet
        os.makedirs(basedir, exist_ok=True)
        return claim_named_dir(basedir, run_id)
    except FileExistsError:
        raise RunDirExistsError(run_id, path) from None
    return path


def safe_relative_name(name: object, what: str = "artifact name") -> str:
    """`name` as a relative path that stays inside its folder (sub-folders allowed)."""
    text = os.fspath(name) if isinstance(name, os.PathLike) else str(name)
    if "\0" in text:
        raise UnsafePathError(what, name, "it contains a NUL character.")
    if os.path.isabs(text) or ntpath.splitdrive(text)[0] or text.startswith(("/", "\\")):
        raise UnsafePathError(what, name, "it is an absolute path; use a name relative to the "
                                          "run folder, such as 'model.pkl' or 'plots/loss.png'.")
    parts = [p for p in text.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts:
        raise UnsafePathError(what, name, "it is empty.")
    if ".." in parts:
        raise UnsafePathError(what, name, "'..' would leave the run folder.")
    if len(parts) == 1 and parts[0] in RESERVED_NAMES:
        raise UnsafePathError(
            what, name, f"the observer writes {parts[0]} itself ({', '.join(RESERVED_NAMES)} "
                        "are reserved); give the artifact another name.")
    return os.path.join(*parts)


def check_inside(path: str, folder: str, what: str, value: object) -> None:
    """Refuse `path` when, with symbolic links resolved, it is not inside `folder`."""
    real_folder = os.path.realpath(folder)
    real_path = os.path.realpath(path)
    if os.path.commonpath([real_folder, real_path]) != real_folder:
        raise UnsafePathError(what, value, f"it resolves to {real_path!r}, outside {folder!r}.")


def tmp_name(path: str) -> str:
    """A temporary name beside `path`, unique across processes and threads."""
    return f"{path}.{os.getpid()}-{threading.get_ident()}-{next(_tmp_counter)}.tmp"


_WRITE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
                | getattr(os, "O_BINARY", 0))


@contextlib.contextmanager
def _replacing(path: str) -> Iterator[str]:
    """A unique temporary name to write; renamed to `path` at the end of the block (removed
    if the block fails), so readers see the old file or the whole new one."""
    tmp = tmp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def write_text_stamped(path: str, text: str) -> tuple[int, int]:
    """Write `text` (UTF-8) to `path` atomically; returns the new file's (inode, mtime_ns).

    Descriptor-level calls: no file object is built for a write done in one call.
    """
    with _replacing(path) as tmp:
        fd = os.open(tmp, _WRITE_FLAGS, 0o666)
        try:
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
            st = os.fstat(fd)  # a rename keeps inode and mtime
        finally:
            os.close(fd)
    return st.st_ino, st.st_mtime_ns


def copy_atomic(src: str, dest: str) -> None:
    """Copy `src` to `dest` so that readers see the old file or the whole new one."""
    import shutil  # imported here: it loads the archive modules, a cost every run would pay

    with _replacing(dest) as tmp:
        shutil.copyfile(src, tmp)


def remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _md5_of(filename: str) -> str:
    digest = new_md5()
    with open(filename, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# (file, store folder) -> (size, mtime_ns, stored path): a process storing the same sources
# run after run reads each only while it changes. Files modified less than _RACY_SECONDS ago
# are not remembered (a rewrite within the timestamp granularity could keep size and mtime).
_stored: dict[tuple[str, str], tuple[int, int, str]] = {}
_RACY_SECONDS = 2.0


def store_by_content(filename: str, store_dir: str) -> str:
    """Copy `filename` to ``store_dir/<stem>_<md5><ext>`` once (shared by all runs); its path.

    Files are read in chunks (resources can be large datasets). A stored copy is never
    half-written, and it is named after the md5 of the bytes actually copied, so a file
    edited meanwhile is still stored under the name of its content. A file stored before
    with the same size and mtime is not read again while its stored copy exists.
    """
    st = os.stat(filename)
    key = (filename, store_dir)
    known = _stored.get(key)
    if (known is not None and known[0] == st.st_size and known[1] == st.st_mtime_ns
            and os.path.exists(known[2])):
        return known[2]
    store_path = _store_by_content(filename, store_dir)
    if time.time() - st.st_mtime > _RACY_SECONDS:
        _stored[key] = (st.st_size, st.st_mtime_ns, store_path)
    return store_path


def _store_by_content(filename: str, store_dir: str) -> str:
    stem, ext = os.path.splitext(os.path.basename(filename))
    store_path = os.path.join(store_dir, f"{stem}_{_md5_of(filename)}{ext}")
    if os.path.exists(store_path):
        return store_path
    os.makedirs(store_dir, exist_ok=True)
    tmp = tmp_name(store_path)
    try:
        digest = new_md5()
        with open(filename, "rb") as src, open(tmp, "wb") as dst:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                digest.update(chunk)
                dst.write(chunk)
        store_path = os.path.join(store_dir, f"{stem}_{digest.hexdigest()}{ext}")
        os.replace(tmp, store_path)
    except BaseException:
        remove_quietly(tmp)
        raise
    return store_path
