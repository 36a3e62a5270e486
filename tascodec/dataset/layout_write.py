"""Writing the standard dataset layout (the reader is ``layout.StandardDataset``).

``LayoutWriter(root)`` writes ``features/<video>.npy`` (D, T) float32, ``groundTruth/<video>.txt``
(one class name per frame), ``mapping.txt`` (``<id> <name>`` lines) and
``splits/<name>.bundle`` (one ``<video>.txt`` per line). Every file is written to a temporary
name (``.tascodec-tmp-...``, ``tempfiles``) and renamed, so none is ever left half written;
temporaries of killed runs are removed when a writer opens the directory again. Used by ``export`` (decoded archives) and
``synth`` (synthetic datasets). Shapes: D feature width, T frames.

The directory is untrusted (issue 28): ``features/``, ``groundTruth/`` and ``splits/`` are
opened once, without following links (a link or a non-folder there is a ``TascodecError``),
and every file is created, renamed and removed relative to those open folders, never through a
path: a link planted in place of a folder is refused, one in place of a file is replaced (the
rename replaces the link, not its target). The marker is read only when it is a regular file
of at most ``MAX_MARKER_BYTES`` (a FIFO, a device or a link is refused, never opened).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import stat
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TascodecError
from ..runtime.tempfiles import PREFIX, clean_stale, prefix_for

__all__ = ["LayoutWriter", "check_file_name", "check_class_names", "MARKER", "SUBDIRS",
           "MAX_MARKER_BYTES", "read_marker_at", "first_content"]

#: the export marker at a layout's root: ``{"complete": false, ...}`` while an export runs,
#: ``true`` once everything (bundles and ``mapping.txt`` last) is written
MARKER = ".tascodec-export.json"
#: the most bytes a marker may hold (its JSON is a few hundred)
MAX_MARKER_BYTES = 64 << 10
#: the layout's folders
SUBDIRS = ("features", "groundTruth", "splits")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC


#: bytes of a name: with ``.npy`` and a temporary's prefix and suffix it stays under the
#: 255 bytes most file systems allow
MAX_NAME_BYTES = 200


def _reads_back(name: str) -> bool:
    """One line of a bundle, read back as itself: no line breaks of ``str.splitlines`` (\r,
    \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029), no control characters, no white space at
    either end."""
    return (
        len(name.splitlines()) == 1
        and name.splitlines()[0] == name
        and name == name.strip()
        and not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name)
    )


def check_file_name(name: str, where: Any) -> None:
    """A video or split name must be usable as a file name and as a line of a bundle.

    No separators, not ``.``/``..``, at most ``MAX_NAME_BYTES`` UTF-8 bytes, nothing that
    would not read back from a bundle (line breaks, control characters, white space at the
    ends).
    """
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name
           or not _reads_back(name)
           or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES)
    if bad:
        raise TascodecError(f"{where}: video name {name[:80]!r} cannot be used as a file name "
                            f"(separators, line breaks, control characters, white space at "
                            f"the ends, or over {MAX_NAME_BYTES} bytes)")


def check_class_names(names: Sequence[str], where: Any) -> None:
    """Class names must be non-empty, unique and free of white space to fit ``mapping.txt``."""
    bad = [n for n in names if not n or any(ch.isspace() for ch in n) or not _reads_back(n)]
    if bad:
        raise TascodecError(f"{where}: class names {bad[:5]} cannot be written to "
                            f"mapping.txt (empty or containing white space)")
    dup = sorted(n for n, count in Counter(names).items() if count > 1)
    if dup:
        raise TascodecError(f"{where}: duplicate class names {dup[:5]}: mapping.txt would not "
                            f"read back")


def _open_root(root: Path) -> int:
    """The layout's root folder, opened (the caller's path: followed if it is a link)."""
    try:
        return os.open(root, _DIR_FLAGS)
    except OSError as exc:
        raise TascodecError(f"{root}: cannot open the folder: {exc.strerror or exc}") from None


def _open_subdir(root_fd: int, root: Path, name: str, *, create: bool = True) -> int:
    """Folder ``name`` of the root, created if missing, opened without following a link."""
    if create:
        try:
            os.mkdir(name, dir_fd=root_fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise TascodecError(f"{root / name}: cannot create the folder: "
                                f"{exc.strerror or exc}") from None
    try:
        return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=root_fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise TascodecError(f"{root / name}: cannot open the folder: "
                                f"{exc.strerror or exc}") from None
        what = ("a symbolic link" if stat.S_ISLNK(os.lstat(name, dir_fd=root_fd).st_mode)
                else "not a folder")
        raise TascodecError(f"{root / name}: is {what}; the layout is written only into real "
                            f"folders, never through a link (remove it, or export elsewhere)"
                            ) from None


def _create_temp(dir_fd: int, name: str) -> tuple[int, str]:
    """A new temporary beside ``name`` in the open folder ``dir_fd``: ``(fd, its name)``,
    ``.tascodec-tmp-<name>.<pid>.<random>`` (``tempfiles``), mode 0666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    for _ in range(100):
        tmp = prefix_for(Path(name)) + secrets.token_hex(6)
        try:
            return os.open(tmp, flags, 0o666, dir_fd=dir_fd), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", name)  # pragma: no cover


def _replace_at(dir_fd: int, name: str, write: Any) -> None:
    """Write ``name`` in the open folder ``dir_fd`` with ``write(handle)`` into a temporary,
    renamed over ``name`` (whatever ``name`` was: a link is replaced, never followed)."""
    fd, tmp = _create_temp(dir_fd, name)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        _unlink_at(dir_fd, tmp)
        raise


#: what a folder or a link planted where a file goes makes the system say
_IN_THE_WAY = {errno.EISDIR, errno.ENOTDIR, errno.ELOOP, errno.ENOTEMPTY, errno.EEXIST}


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Something planted where ``path`` goes (a folder, a link to one) is a ``TascodecError``
    naming ``path``; other ``OSError`` s (no space, no permission) stay what they are."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _IN_THE_WAY:
            raise
        raise TascodecError(f"{path}: cannot write: {exc.strerror or exc} (something that "
                            f"is not a file is in its place)") from None


def _unlink_at(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def _place_at(src: Path, dir_fd: int, name: str) -> str:
    """``name`` in the open folder ``dir_fd`` as a hard link to ``src`` (same file system,
    permitted), else a copy; via a temporary, renamed. Returns ``"link"`` or ``"copy"``."""
    fd, tmp = _create_temp(dir_fd, name)
    os.close(fd)
    try:
        _unlink_at(dir_fd, tmp)  # os.link needs a free name; the random one stays this process's
        try:
            os.link(src, tmp, dst_dir_fd=dir_fd)
            how = "link"
        except OSError:  # another file system, or links to others' files not permitted
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
            with os.fdopen(os.open(tmp, flags, 0o666, dir_fd=dir_fd), "wb") as handle, \
                    open(src, "rb") as fh:
                shutil.copyfileobj(fh, handle)
            how = "copy"
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        _unlink_at(dir_fd, tmp)
        raise
    return how


def _text(text: str) -> Any:
    return lambda handle: handle.write(text.encode("utf-8"))


def _read_small(dir_fd: int, name: str, limit: int, where: Path) -> bytes | None:
    """The bytes of regular file ``name`` of the open folder (``None`` when absent); a link, a
    FIFO, a device or a file over ``limit`` bytes is a ``TascodecError`` (never read, never
    blocked on: opened non-blocking, without following a link)."""
    flags = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        what = "a symbolic link" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        raise TascodecError(f"{where}: cannot be read ({what}); it must be a regular file")\
            from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TascodecError(f"{where}: is not a regular file (a FIFO, a device or a "
                                f"folder); it is never read")
        if st.st_size > limit:
            raise TascodecError(f"{where}: holds {st.st_size} bytes, more than the "
                                f"{limit} it may")
        data = os.read(fd, limit + 1)
        if len(data) > limit:
            raise TascodecError(f"{where}: holds more than the {limit} bytes it may")
        return data
    finally:
        os.close(fd)


def read_marker_at(root: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The export marker of the layout at ``root``: its content, ``None`` without one, ``{}``
    when it is not valid JSON holding an object. A marker that is not a regular file of at
    most ``MAX_MARKER_BYTES`` (a link, a FIFO, a device, a huge file) is a ``TascodecError``."""
    root = Path(root)
    fd = _open_root(root)
    try:
        data = _read_small(fd, MARKER, MAX_MARKER_BYTES, root / MARKER)
    finally:
        os.close(fd)
    if data is None:
        return None
    try:
        state = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        return {}
    return state if isinstance(state, dict) else {}


def first_content(root: str | os.PathLike[str]) -> Path | None:
    """The first entry of the folder ``root`` that is neither a folder nor a tascodec
    temporary (``None``: there is none): a link (to a folder or a file, dangling or not)
    counts as content, and is never followed."""
    stack = [Path(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name.startswith(PREFIX):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                    continue
                return Path(entry.path)
    return None


def _clean_opened(path: Path, fd: int) -> None:
    """Remove dead runs' temporaries in ``path``, when it is still the folder opened as ``fd``."""
    try:
        now, opened = os.lstat(path), os.fstat(fd)
    except OSError:
        return
    if stat.S_ISDIR(now.st_mode) and (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino):
        clean_stale(path)


class LayoutWriter:
    """Writes one dataset directory in the standard layout (creates its subdirectories).

    Holds the root and its three folders open (``close()``, or use it as a context manager;
    they close when it is collected), all writes relative to them.
    """

    def __init__(self, root: str | os.PathLike[str], class_names: Sequence[str]) -> None:
        self.root = Path(root)
        self.class_names = list(class_names)
        self._label_names = np.array(self.class_names, dtype=object)
        self._fds: dict[str, int] = {}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TascodecError(f"{self.root}: cannot create the folder: "
                                f"{exc.strerror or exc}") from None
        self._fds["."] = _open_root(self.root)
        try:
            for sub in SUBDIRS:
                self._fds[sub] = _open_subdir(self._fds["."], self.root, sub)
        except BaseException:
            self.close()
            raise
        for sub, fd in self._fds.items():  # temporaries left by killed runs
            _clean_opened(self.root / sub, fd)

    def close(self) -> None:
        """Close the folders held open (idempotent)."""
        fds, self._fds = getattr(self, "_fds", {}), {}
        for fd in fds.values():
            os.close(fd)

    def __enter__(self) -> "LayoutWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _fd(self, sub: str) -> int:
        if sub not in self._fds:
            raise TascodecError(f"{self.root}: the layout writer is closed")
        return self._fds[sub]

    def write_mapping(self) -> None:
        """``mapping.txt``: the directory opens as a dataset once it exists (write it last)."""
        with _naming(self.root / "mapping.txt"):
            _replace_at(self._fd("."), "mapping.txt",
                        _text("".join(f"{i} {n}\n" for i, n in enumerate(self.class_names))))

    def remove_mapping(self) -> None:
        """Remove ``mapping.txt`` (the entry itself, a link included): the directory no longer
        opens as a dataset."""
        with _naming(self.root / "mapping.txt"):
            _unlink_at(self._fd("."), "mapping.txt")

    def write_marker(self, state: dict[str, Any]) -> None:
        """The export marker ``.tascodec-export.json`` (``MARKER``), replaced atomically."""
        with _naming(self.root / MARKER):
            _replace_at(self._fd("."), MARKER, _text(json.dumps(state, sort_keys=True) + "\n"))

    @staticmethod
    def read_marker_at(root: Path) -> dict[str, Any] | None:
        """``read_marker_at(root)`` (the module function)."""
        return read_marker_at(root)

    def has_video(self, video: str) -> bool:
        """Both files of ``video`` exist as regular files (not links)."""
        try:
            return all(stat.S_ISREG(os.lstat(name, dir_fd=self._fd(sub)).st_mode)
                       for sub, name in (("features", f"{video}.npy"),
                                         ("groundTruth", f"{video}.txt")))
        except FileNotFoundError:
            return False

    def write_split(self, name: str, videos: Sequence[str]) -> None:
        """``splits/<name>.bundle``: the split's videos, in order."""
        with _naming(self.root / "splits" / f"{name}.bundle"):
            _replace_at(self._fd("splits"), f"{name}.bundle",
                        _text("".join(f"{v}.txt\n" for v in videos)))

    def place_video(self, video: str, source_root: str | os.PathLike[str]) -> str:
        """Put ``video``'s two files of the dataset at ``source_root`` here unchanged: hard
        links when the file system allows (no space used; the files are shared, so edit
        neither in place), else copies. Returns ``"link"`` or ``"copy"`` (of the features)."""
        src = Path(source_root)
        with _naming(self.root / "features" / f"{video}.npy"):
            how = _place_at(src / "features" / f"{video}.npy", self._fd("features"),
                            f"{video}.npy")
        with _naming(self.root / "groundTruth" / f"{video}.txt"):
            _place_at(src / "groundTruth" / f"{video}.txt", self._fd("groundTruth"),
                      f"{video}.txt")
        return how

    def write_video(self, video: str, features: np.ndarray, labels: np.ndarray) -> None:
        """``features/<video>.npy`` from (D, T) float32 features (saved as given);
        ``groundTruth/<video>.txt`` from (T,) class ids."""
        with _naming(self.root / "features" / f"{video}.npy"):
            _replace_at(self._fd("features"), f"{video}.npy",
                        lambda handle: np.save(handle, features))
        with _naming(self.root / "groundTruth" / f"{video}.txt"):
            _replace_at(self._fd("groundTruth"), f"{video}.txt",
                        _text("".join(f"{n}\n" for n in self._label_names[np.asarray(labels)])))
