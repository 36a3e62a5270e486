"""A torch ``Dataset`` over a ``.tasz`` archive that decodes lazily, and a sampler by length.

Shapes: B batch, D feature width, T frames (Tmax the longest in a batch), C classes.

``TaszDataset(path, split)[i]`` is ``(features, labels, name)``: features float32 (D, T)
(``layout="TD"``: (T, D)), labels int64 (T,). The archive is opened lazily once per process
(the handle is keyed by ``os.getpid()``, so forked DataLoader workers never share a zip handle),
the dataset pickles as its path and options (``spawn`` works), and decoded videos are kept in a
per-process LRU cache bounded in bytes, so epochs after the first cost about what reading the
original features costs. Samplers stay separate from the dataset (``DistributedSampler`` and
``LengthGroupedSampler`` take it as is).

Batches: ``batches`` (``collate``, ``Batch``); ``dataset.collate`` is ``collate`` with this
dataset's class count and layout.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..extras import require_torch

require_torch("tascodec.TaszDataset")  # one line naming the extra, not an ImportError
import torch  # noqa: E402
from torch.utils.data import Dataset, Sampler  # noqa: E402

from ..errors import IntegrityError, TascodecError
from ..format.byte_source import Target, archive_target, is_file_object, is_url
from ..dataset.splits import select_split
from ..dataset.orientation import check_frame_args, frame_slice
from .batches import Batch, Item, collate
from .items import decoded_item
from ..format import open_archive
from ..format.source_cache import cache_folder, cached

__all__ = ["TaszDataset", "LengthGroupedSampler"]


def _open(path: Target, decode_limit: Any = None,
          storage_options: dict[str, Any] | None = None, remote_cache: Any = None) -> Any:
    path = cached(path, storage_options, remote_cache)  # a URL through the shared folder
    return open_archive(path, decode_limit=decode_limit, storage_options=storage_options)


class TaszDataset(Dataset):
    """Videos of one split of a ``.tasz`` archive, decoded on demand.

    ``split``: a split name stored in the archive (e.g. ``"train.split1"``; ``"train"`` /
    ``"test"`` as ``splits.resolve_split`` reads them), or ``None`` for every video. ``cache_bytes``: bound of the decoded-video LRU cache, per process (0
    disables it). ``device``: ``"cpu"`` decodes with NumPy; ``"cuda"`` (and any torch device)
    decodes with torch there and returns tensors on it (use ``num_workers=0`` then).
    ``transform``: applied to the features tensor of each item, after the cache; it must not
    modify its input in place. ``sample_rate`` and ``offset``: keep frames
    ``offset::sample_rate`` of features and labels alike, as MS-TCN / ASFormer loaders read
    ``np.load(path)[:, offset::sample_rate]`` (50Salads uses ``sample_rate=2``;
    ``orientation.subsample`` is the rule).
    Cached tensors are returned as they are: treat items as read-only. ``decode_limit``: the
    decode budget per video (``tascodec.decode.budget``; default ``$TASCODEC_DECODE_LIMIT`` or
    ``min(8 GiB, half the RAM)``). Videos a split names but the archive does not store (the
    spec allows it) are left out.

    ``path``: a local path, a URL (``tascodec.open``: each worker opens it with a few range
    requests and fetches only the chunks of the videos it reads; ``storage_options`` go to
    fsspec) or a binary file object (``num_workers=0`` only: a file object cannot be shared
    with worker processes).

    ``path`` may also be a list of archives (replay: the condensed videos of earlier tasks, each an
    archive or a group of one): items follow the archives' order, ``class_names`` is the
    union of the archives' class names by name (first archive's order, new names appended)
    and labels use it; ``groups`` keeps only the videos of those decoder groups (indices, for
    every archive, or ``{archive position: indices}``); ``provenance(i)`` gives item i's
    ``(archive path, group)``. A video stored in two archives is two items.

    The dataset pins the archive it opened (``Archive.fingerprint``: the root digest, which
    covers every entry through the 1.1 manifest; for 1.0 also size and mtime): a process that
    reopens the path (a DataLoader worker, after ``close``) and finds another file raises
    ``IntegrityError`` instead of mixing items of two archives.

    ``remote_cache`` (URLs): where fetched bytes are kept for the dataset's life, shared by
    epochs and workers (``format.source_cache``): ``True`` a temporary folder removed with the
    dataset, a path a folder kept for later runs, ``False`` none.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | Any | Sequence[str | os.PathLike[str]],
        split: str | None = "train",
        *,
        layout: str = "DT",
        cache_bytes: int = 2 << 30,
        device: Any = "cpu",
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        sample_rate: int = 1,
        offset: int = 0,
        decode_limit: Any = None,
        groups: Sequence[int] | dict[int, Sequence[int]] | None = None,
        storage_options: dict[str, Any] | None = None,
        remote_cache: bool | str | os.PathLike[str] = True,
    ) -> None:
        check_frame_args(layout, sample_rate, offset, where="TaszDataset")
        if isinstance(cache_bytes, bool) or not isinstance(cache_bytes, int) or cache_bytes < 0:
            raise TascodecError(f"cache_bytes: expected an integer >= 0, got {cache_bytes!r}")
        if transform is not None and not callable(transform):
            raise TascodecError(f"transform: expected a callable, got {type(transform).__name__}")
        paths = ([path] if isinstance(path, (str, os.PathLike)) or is_file_object(path)
                 else list(path))
        if not paths:
            raise TascodecError("TaszDataset: give an archive path or a list of them")
        self.paths: list[Target] = [archive_target(p, "TaszDataset") for p in paths]
        self.path = self.paths[0]
        self.groups = groups
        self.storage_options = dict(storage_options or {})
        self._owner_pid = os.getpid()
        self.split = split
        self.layout = layout
        self.cache_bytes = cache_bytes
        self.device = device
        self.transform = transform
        self.sample_rate = int(sample_rate)
        self.offset = int(offset)
        self.decode_limit = decode_limit

        self.remote_cache = cache_folder(any(map(is_url, self.paths)) and remote_cache, self)
        self._fingerprints: list[tuple[Any, ...] | None] = [None] * len(self.paths)
        self._reset()
        self.videos: list[str] = []
        self._items: list[tuple[int, int]] = []  # (archive, group) of each item
        self._frames: list[int] = []
        self.class_names: list[str] = []
        self._class_maps: list[np.ndarray] = []  # archive class id -> unified id, per archive
        dims = set()
        for k in range(len(self.paths)):
            archive = self._archive(k)
            self._fingerprints[k] = archive.fingerprint
            wanted = self._wanted_groups(k, len(archive.groups))
            for v in self._resolve_split(archive, split):
                g = archive.group_of(v)
                if g in wanted:
                    self.videos.append(v)
                    self._items.append((k, g))
                    self._frames.append(int(archive.num_frames(v)))
            for c in archive.class_names:
                if c not in self.class_names:
                    self.class_names.append(c)
            self._class_maps.append(np.array([self.class_names.index(c)
                                              for c in archive.class_names], np.int64))
            dims.add(int(archive.feature_dim))
        if len(dims) != 1:
            raise TascodecError(f"TaszDataset: the archives' feature widths differ: {sorted(dims)}")
        self.feature_dim: int = dims.pop()

    def _wanted_groups(self, k: int, n: int) -> set[int]:
        g = self.groups
        if g is None:
            return set(range(n))
        chosen = g.get(k, range(n)) if isinstance(g, dict) else g
        bad = sorted(set(chosen) - set(range(n)))
        if bad:
            raise TascodecError(f"{self.paths[k]}: groups {bad} out of range [0, {n})")
        return set(chosen)

    def provenance(self, index: int) -> tuple[Target, int]:
        """``(archive path, group index)`` of item ``index``: where its codes and decoder
        come from (``Archive.groups``)."""
        k, g = self._items[index]
        return self.paths[k], g

    @staticmethod
    def _resolve_split(archive: Any, split: str | None) -> list[str]:
        if split is None:
            return list(archive.videos)
        stored = set(archive.videos)
        names = archive.splits[select_split(archive.splits, split, archive.path)]
        return [v for v in names if v in stored]

    # -- per-process state ------------------------------------------------------------------
    def _reset(self) -> None:
        self._handles: dict[int, Any] = {}
        self._pid = -1
        self._cache: OrderedDict[Any, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self._cached_bytes = 0

    def _archive(self, k: int = 0) -> Any:
        if self._pid != os.getpid():  # a forked child drops its parent's handles
            self._handles, self._pid = {}, os.getpid()
        if k not in self._handles:
            if str(self.device).startswith("cuda") and torch.utils.data.get_worker_info():
                raise TascodecError(
                    f"{self.path}: TaszDataset(device={self.device!r}) decodes on the GPU, "
                    "which a DataLoader worker process cannot use (CUDA does not survive fork): "
                    "use num_workers=0 with a CUDA device, or device='cpu' with workers")
            if is_file_object(self.paths[k]) and os.getpid() != self._owner_pid:
                raise TascodecError(
                    f"{self.paths[k]}: TaszDataset over a file object cannot be read in a "
                    "DataLoader worker (workers would share its position): pass a path or a "
                    "URL, or use num_workers=0")
            handle = _open(self.paths[k], self.decode_limit, self.storage_options,
                           self.remote_cache)
            pinned = self._fingerprints[k]
            if pinned is not None and handle.fingerprint != pinned:
                handle.close()
                raise IntegrityError(
                    f"{self.paths[k]}: the archive was replaced since this dataset opened it "
                    "(reopen the dataset to read the new one)"
                )
            self._handles[k] = handle
        return self._handles[k]

    def close(self) -> None:
        """Close this process's archive handles (reopened on the next read)."""
        if self._pid == os.getpid():
            for handle in self._handles.values():
                handle.close()
        self._handles = {}

    def __getstate__(self) -> dict[str, Any]:
        for p in self.paths:
            if is_file_object(p):
                raise TascodecError(f"{p}: TaszDataset over a file object cannot be pickled "
                                    "to another process: pass a path or a URL")
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("_handles", "_pid", "_cache", "_cached_bytes")}
        state["path"] = str(self.path)
        state["paths"] = [str(p) for p in self.paths]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.paths = [archive_target(p, "TaszDataset") for p in state["paths"]]
        self.path = self.paths[0]
        self.storage_options = dict(state.get("storage_options") or {})
        self.remote_cache = state.get("remote_cache")
        self._owner_pid = state.get("_owner_pid", -1)
        self._reset()

    # -- Dataset ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.videos)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def num_frames(self, index: int) -> int:
        """Frames of item ``index`` after ``offset::sample_rate``."""
        return len(range(self.offset, self._frames[index], self.sample_rate))

    def __repr__(self) -> str:
        where = str(self.path) if len(self.paths) == 1 else [str(p) for p in self.paths]
        return (f"TaszDataset({where!r}, split={self.split!r}, videos={len(self)}, "
                f"layout={self.layout!r}, device={self.device!r})")

    def __getitem__(self, index: int) -> Item:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"TaszDataset indices are integers, got {type(index).__name__}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} videos")
        index = int(index) % len(self)
        name, k = self.videos[index], self._items[index][0]
        key = name if len(self.paths) == 1 else (k, name)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._load(name, k)
            self._remember(key, hit)
        else:
            self._cache.move_to_end(key)
        features, labels = hit
        if self.transform is not None:
            features = self.transform(features)
        return features, labels, name

    def _load(self, name: str, k: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        return decoded_item(self._archive(k), name, device=self.device, layout=self.layout,
                            frames=frame_slice(self.sample_rate, self.offset),
                            class_map=self._class_maps[k])  # ids of ``class_names``

    def _remember(self, name: Any, item: tuple[torch.Tensor, torch.Tensor]) -> None:
        size = sum(t.element_size() * t.nelement() for t in item)
        if size > self.cache_bytes:
            return
        self._cache[name] = item
        self._cached_bytes += size
        while self._cached_bytes > self.cache_bytes:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= sum(t.element_size() * t.nelement() for t in old)

    def collate(self, batch: Sequence[Item]) -> "Batch":
        """``collate`` with this dataset's class count and layout (picklable, for workers)."""
        return collate(batch, num_classes=self.num_classes, layout=self.layout)


class LengthGroupedSampler(Sampler[int]):
    """Indices ordered so that each run of ``batch_size`` holds videos of similar length.

    Shuffles (seeded by ``seed + epoch``; call ``set_epoch``), splits into mega-batches of
    ``batch_size * group`` indices, sorts each by length (longest first) and shuffles the order
    of the resulting batches: less padding, still random. ``lengths``: frames per item, or a
    ``TaszDataset`` (its ``num_frames``).
    """

    def __init__(self, lengths: Sequence[int] | TaszDataset, batch_size: int, *,
                 group: int = 8, seed: int = 0, shuffle: bool = True) -> None:
        if isinstance(lengths, TaszDataset):
            lengths = [lengths.num_frames(i) for i in range(len(lengths))]
        elif isinstance(lengths, torch.utils.data.ConcatDataset):
            lengths = [d.num_frames(i) for d in lengths.datasets for i in range(len(d))]
        if batch_size < 1 or group < 1:
            raise TascodecError(f"LengthGroupedSampler: batch_size {batch_size} and group "
                                f"{group} must be >= 1")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size, self.group, self.seed, self.shuffle = batch_size, group, seed, shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return int(self.lengths.size)

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng(self.seed + self.epoch)
        n = self.lengths.size
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        mega = self.batch_size * self.group
        batches: list[np.ndarray] = []
        for s in range(0, n, mega):
            chunk = order[s : s + mega]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + self.batch_size]
                           for i in range(0, chunk.size, self.batch_size))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        for batch in batches:
            yield from (int(i) for i in batch)
