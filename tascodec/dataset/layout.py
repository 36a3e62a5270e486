"""The standard dataset layout (MS-TCN, ASFormer, DiffAct, ...) with validation.

A dataset directory holds::

    features/<video>.npy       float32 (D, T): D feature width, T frames
    groundTruth/<video>.txt    T lines, one action name per frame
    mapping.txt                lines "<id> <name>", ids 0 .. A-1 (A classes)
    splits/<split>.bundle      e.g. train.split1.bundle: one "<video>.txt" per line

Opening a dataset reads ``mapping.txt``, every label file, every bundle and the ``.npy``
headers (never the feature data); features are memory-mapped on access. Every problem found
raises :class:`~tascodec.errors.DatasetLayoutError` naming the file (and line where there is one).

Split names (one meaning everywhere: datasets, archives, ``TaszDataset``, ``export``, ``encode``,
``eval``): a split is named by its bundle stem (``train.split1``); ``"train"`` / ``"test"``
mean ``train.split1`` / ``test.split1`` unless a split of that exact name exists
(``resolve_split``); a *fold* ``"split1"`` names the pair ``(train.split1, test.split1)``
(``split_names``): the rule is ``splits``. Writing the layout is ``layout_write``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import DatasetLayoutError
from .splits import resolve_split, select_split

__all__ = ["StandardDataset", "read_mapping", "read_npy_header", "MAX_FRAME_MAGNITUDE",
           "check_frame_values"]

# Frames checked for NaN/inf per step, so a long video is never copied whole.
_FINITE_CHUNK = 4096


def read_mapping(path: Path) -> list[str]:
    """Class names (index = id) from a ``mapping.txt``; ids must be exactly 0 .. A-1."""
    path = Path(path)
    if not path.is_file():
        raise DatasetLayoutError(f"{path}: mapping.txt not found")
    by_id: dict[int, tuple[str, int]] = {}
    names: dict[str, int] = {}
    text = _read_text(path, "class mapping")
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise DatasetLayoutError(
                f"{path}:{lineno}: malformed mapping line {line.strip()!r} "
                "(expected '<id> <name>')"
            )
        try:
            cid = int(parts[0])
        except ValueError:
            raise DatasetLayoutError(
                f"{path}:{lineno}: class id {parts[0]!r} is not an integer"
            ) from None
        name = parts[1]
        if cid in by_id:
            raise DatasetLayoutError(
                f"{path}:{lineno}: duplicate class id {cid} (first on line {by_id[cid][1]})"
            )
        if name in names:
            raise DatasetLayoutError(
                f"{path}:{lineno}: duplicate class name {name!r} (first on line {names[name]})"
            )
        by_id[cid] = (name, lineno)
        names[name] = lineno
    if not by_id:
        raise DatasetLayoutError(f"{path}: no classes in mapping")
    expected = set(range(len(by_id)))
    if set(by_id) != expected:
        missing = sorted(expected - set(by_id))
        extra = sorted(set(by_id) - expected)
        raise DatasetLayoutError(
            f"{path}: class ids must be contiguous 0..{len(by_id) - 1}; "
            f"missing {missing[:5]}, unexpected {extra[:5]}"
        )
    return [by_id[i][0] for i in range(len(by_id))]


def read_npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of a ``.npy`` file from its header alone (no data read)."""
    try:
        with open(path, "rb") as fp:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
            else:  # version 3 (utf-8 header): let np.load parse it, still without reading data
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
                shape, dtype = arr.shape, arr.dtype
    except OSError as exc:
        raise DatasetLayoutError(f"{path}: cannot read feature file ({exc})") from None
    except ValueError as exc:
        raise DatasetLayoutError(f"{path}: not a valid .npy file ({exc})") from None
    return tuple(int(s) for s in shape), np.dtype(dtype)


def _read_text(path: Path, what: str) -> str:
    """A UTF-8 text file of the layout; ``DatasetLayoutError`` naming it when it is not."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetLayoutError(f"{path}: {what} is not UTF-8 text (byte {exc.start}: "
                                 f"{exc.reason})") from None
    except OSError as exc:
        raise DatasetLayoutError(f"{path}: cannot read {what} ({exc.strerror})") from None


def _parse_labels(path: Path, index: dict[str, int]) -> np.ndarray:
    """Label ids (T,) int64 of one groundTruth file; names checked against the mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetLayoutError(f"{path}: cannot read label file ({exc})") from None
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise DatasetLayoutError(f"{path}: empty video (no frame labels)")
    try:
        return np.fromiter((index[name] for name in lines), dtype=np.int64, count=len(lines))
    except KeyError:
        for lineno, name in enumerate(lines, start=1):
            if name not in index:
                what = "empty label" if not name else f"label {name!r} not in mapping.txt"
                raise DatasetLayoutError(f"{path}:{lineno}: {what}") from None
        raise  # pragma: no cover - a KeyError always has a culprit line


#: the largest magnitude a frame value may have. Beyond it float32 sums of squares over a
#: video's frames and channels (training, inversion, error figures) can overflow, and one such
#: frame dominates its channel's statistics, which every video of an encode is normalised by
#: (issue 28: two values of 3e38 in one video wrecked channel 0 of every decoded video)
MAX_FRAME_MAGNITUDE = 1e12


def check_frame_values(x: np.ndarray, where: str, first_frame: int = 0) -> None:
    """Refuse a NaN, an infinity or a value beyond ``MAX_FRAME_MAGNITUDE`` in frames ``x``
    (D, t) (channel-major; frame numbers start at ``first_frame``): ``TascodecError`` (a
    ``DatasetLayoutError`` from ``layout``) naming ``where`` (the video), the value, its
    dimension and frame. Integer frames always pass (they are converted to float32)."""
    if x.dtype.kind != "f":
        return
    ok = np.abs(x) <= MAX_FRAME_MAGNITUDE  # False for NaN and infinities too
    if ok.all():
        return
    d, t = (int(i) for i in np.argwhere(~ok)[0])
    value = x[d, t]
    what = ("non-finite value" if not np.isfinite(value) else
            f"value beyond +-{MAX_FRAME_MAGNITUDE:.0e} (no feature is this large: one such "
            f"frame would dominate its channel's statistics for every video of an encode; "
            f"fix or drop the frame):")
    raise DatasetLayoutError(f"{where}: {what} {float(value):.7g} at dimension {d}, "
                             f"frame {first_frame + t}")


class StandardDataset:
    """A dataset in the standard layout; features memory-mapped, labels parsed at open.

    ``sample_rate`` s keeps every s-th frame of features and labels. Feature and label
    lengths may differ by at most ``max(max_mismatch, max_mismatch_fraction * T)`` frames
    (T the label count); both are then cut to the shorter and the cut is recorded in
    ``trimmed``. ``check_finite`` checks each video for NaN/inf and values beyond
    ``MAX_FRAME_MAGNITUDE`` on first access (chunked).
    Videos are the ``groundTruth/*.txt`` files; feature files without labels are ignored.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        sample_rate: int = 1,
        max_mismatch: int = 5,
        max_mismatch_fraction: float = 0.05,
        check_finite: bool = True,
    ) -> None:
        self.root = Path(root)
        if not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1:
            raise DatasetLayoutError(f"sample_rate must be an integer >= 1, got {sample_rate!r}")
        if max_mismatch < 0 or not 0 <= max_mismatch_fraction <= 1:
            raise DatasetLayoutError(
                f"max_mismatch must be >= 0 and max_mismatch_fraction in [0, 1], got "
                f"{max_mismatch!r}, {max_mismatch_fraction!r}"
            )
        self.sample_rate = int(sample_rate)
        self.max_mismatch = int(max_mismatch)
        self.max_mismatch_fraction = float(max_mismatch_fraction)
        self.check_finite = bool(check_finite)
        if not self.root.is_dir():
            raise DatasetLayoutError(f"{self.root}: dataset directory not found")

        self.class_names: list[str] = read_mapping(self.root / "mapping.txt")
        index = {name: i for i, name in enumerate(self.class_names)}
        gt_dir = self.root / "groundTruth"
        if not gt_dir.is_dir():
            raise DatasetLayoutError(f"{gt_dir}: groundTruth directory not found")
        self.videos: list[str] = sorted(p.stem for p in gt_dir.glob("*.txt") if p.is_file())
        if not self.videos:
            raise DatasetLayoutError(f"{gt_dir}: no label files (<video>.txt)")

        self.trimmed: dict[str, int] = {}
        self._labels: dict[str, np.ndarray] = {}
        self._length: dict[str, int] = {}  # frames after trimming, before the sample rate
        self._finite_ok: set[str] = set()
        self.feature_dim: int = -1
        dim_source = ""
        for video in self.videos:
            labels = _parse_labels(gt_dir / f"{video}.txt", index)
            fpath = self._feature_path(video)
            if not fpath.is_file():
                raise DatasetLayoutError(
                    f"{fpath}: feature file missing for video {video!r} "
                    f"(has {gt_dir / (video + '.txt')})"
                )
            shape, dtype = read_npy_header(fpath)
            self._check_header(fpath, shape, dtype)
            if self.feature_dim < 0:
                self.feature_dim, dim_source = shape[0], video
            elif shape[0] != self.feature_dim:
                raise DatasetLayoutError(
                    f"{fpath}: feature dimension D={shape[0]} differs from "
                    f"D={self.feature_dim} of video {dim_source!r}"
                )
            labels = self._reconcile(video, fpath, shape[1], labels)
            self._labels[video] = labels
            self._length[video] = int(labels.size)
        self._splits = self._read_splits()

    # -- opening ---------------------------------------------------------------------------

    def _feature_path(self, video: str) -> Path:
        return self.root / "features" / f"{video}.npy"

    def _check_header(self, fpath: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
        if len(shape) != 2:
            raise DatasetLayoutError(f"{fpath}: features must be 2-D (D, T), got shape {shape}")
        if dtype.kind not in "fiu" or dtype.itemsize > 8:
            raise DatasetLayoutError(f"{fpath}: feature dtype {dtype} cannot be read as float32")
        if shape[0] == 0 or shape[1] == 0:
            raise DatasetLayoutError(f"{fpath}: empty video (feature shape {shape})")

    def _reconcile(self, video: str, fpath: Path, t_feat: int, labels: np.ndarray) -> np.ndarray:
        t_lab = int(labels.size)
        if t_feat == t_lab:
            return labels
        diff = abs(t_feat - t_lab)
        allowed = max(self.max_mismatch, math.floor(self.max_mismatch_fraction * t_lab))
        if diff > allowed:
            raise DatasetLayoutError(
                f"{fpath}: {t_feat} feature frames but {t_lab} labels in "
                f"groundTruth/{video}.txt (difference {diff} > {allowed} allowed)"
            )
        self.trimmed[video] = diff
        return labels[: min(t_feat, t_lab)]

    def _read_splits(self) -> dict[str, list[str]]:
        split_dir = self.root / "splits"
        splits: dict[str, list[str]] = {}
        if not split_dir.is_dir():
            return splits
        known = set(self.videos)
        for path in sorted(split_dir.glob("*.bundle")):
            members: list[str] = []
            seen: dict[str, int] = {}
            text = _read_text(path, "split bundle")
            for lineno, line in enumerate(text.splitlines(), start=1):
                entry = line.strip()
                if not entry:
                    continue
                video = entry[:-4] if entry.endswith(".txt") else entry
                if video not in known:
                    raise DatasetLayoutError(
                        f"{path}:{lineno}: video {video!r} has no "
                        f"groundTruth/{video}.txt"
                    )
                if video in seen:
                    raise DatasetLayoutError(
                        f"{path}:{lineno}: video {video!r} listed twice (first on line "
                        f"{seen[video]})"
                    )
                seen[video] = lineno
                members.append(video)
            splits[path.name[: -len(".bundle")]] = members
        return splits

    # -- access ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.videos)

    def __iter__(self) -> Iterator[str]:
        return iter(self.videos)

    def __contains__(self, video: object) -> bool:
        return video in self._labels

    def __repr__(self) -> str:
        return (
            f"StandardDataset({str(self.root)!r}, videos={len(self.videos)}, "
            f"classes={len(self.class_names)}, D={self.feature_dim}, "
            f"sample_rate={self.sample_rate})"
        )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def splits(self) -> dict[str, list[str]]:
        """Split name (bundle file stem, e.g. ``train.split1``) -> video names."""
        return {name: list(videos) for name, videos in self._splits.items()}

    def split(self, name: str) -> list[str]:
        """Videos of a split (names as ``resolve_split`` reads them: ``train`` / ``test`` mean
        ``train.split1`` / ``test.split1``)."""
        key = resolve_split(name, self._splits)
        where = self.root / "splits" / (key + ".bundle")
        return list(self._splits[select_split(self._splits, name, where, DatasetLayoutError)])

    def _check_video(self, video: str) -> None:
        if video not in self._labels:
            raise DatasetLayoutError(
                f"{self.root / 'groundTruth' / (str(video) + '.txt')}: unknown video {video!r}"
            )

    def num_frames(self, video: str) -> int:
        """Frames of ``video`` after trimming and the sample rate."""
        self._check_video(video)
        return -(-self._length[video] // self.sample_rate)

    def labels(self, video: str) -> np.ndarray:
        """Frame labels (T,) int64 (trimmed, sample rate applied)."""
        self._check_video(video)
        return self._labels[video][:: self.sample_rate].copy()

    def features(self, video: str) -> np.ndarray:
        """Features (D, T) float32: a read-only memory-mapped view when stored as float32."""
        self._check_video(video)
        fpath = self._feature_path(video)
        try:
            arr = np.load(fpath, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DatasetLayoutError(f"{fpath}: cannot read ({exc})") from None
        t = self._length[video]
        if arr.ndim != 2 or arr.shape[0] != self.feature_dim or arr.shape[1] < t:
            raise DatasetLayoutError(
                f"{fpath}: shape {arr.shape} changed since the dataset was opened"
            )
        arr = arr[:, :t]
        if self.check_finite and video not in self._finite_ok:
            self._assert_finite(fpath, arr)
            self._finite_ok.add(video)
        arr = arr[:, :: self.sample_rate]
        if arr.dtype != np.float32:
            arr = arr.astype(np.float32)
        return arr

    def _assert_finite(self, fpath: Path, arr: np.ndarray) -> None:
        """``check_frame_values`` over the (D, T) frames, a block of frames at a time:
        no NaN, no infinity, nothing beyond ``MAX_FRAME_MAGNITUDE``."""
        if arr.dtype.kind != "f":
            return
        for a in range(0, arr.shape[1], _FINITE_CHUNK):
            check_frame_values(np.asarray(arr[:, a : a + _FINITE_CHUNK]), str(fpath), a)

    def items(self, videos: list[str] | None = None) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(video, features (D, T), labels (T,))`` for ``videos`` (default: all)."""
        for video in self.videos if videos is None else videos:
            yield video, self.features(video), self.labels(video)
