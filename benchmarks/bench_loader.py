"""DataLoader epoch time: TaszDataset (first epoch, cached epoch) vs the original .npy files.

    python -m benchmarks.bench_loader [--quick] [--videos N] [--workers 0 2] [--batch-size B]
                                      [--threads N]

Builds a GTEA-shaped archive (segment structures of the real GTEA labels in ../shared/data
when present, else random; D = 2048, K = 8, random TCA-shaped decoder d = 256, H = 512), exports
it to the standard layout (the "original" features, same bytes as a real dataset of that shape)
and times full epochs of ``DataLoader(..., collate_fn=<MS-TCN style collate>)`` over each.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

if "--threads" in sys.argv:  # BLAS reads these at import: set them before numpy loads
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from .bench_decode import LATENT, K, random_segments, real_segments, tca_decoder  # noqa: E402

from tascodec.content import ArchiveContent, SegmentTable  # noqa: E402
from tascodec.loading.export import export_archive  # noqa: E402
from tascodec.format import write_archive  # noqa: E402
from tascodec.dataset.layout import StandardDataset  # noqa: E402
from tascodec.segments import segments_to_labels  # noqa: E402
from tascodec.loading.batches import collate  # noqa: E402
from tascodec.loading.torch_data import TaszDataset  # noqa: E402


class NpyDataset(Dataset):
    """The usual loader of the standard layout: np.load per item, labels parsed up front."""

    def __init__(self, root: Path) -> None:
        self.root = root
        layout = StandardDataset(root, check_finite=False)
        self.videos = layout.videos
        self.labels = {v: torch.from_numpy(layout.labels(v)) for v in self.videos}
        self.num_classes = layout.num_classes

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int):
        v = self.videos[i]
        return torch.from_numpy(np.load(self.root / "features" / f"{v}.npy")), self.labels[v], v

    def collate(self, batch):
        return collate(batch, num_classes=self.num_classes)


def build(tmp: Path, videos: int) -> tuple[Path, Path, int]:
    rng = np.random.default_rng(0)
    segs = real_segments("gtea-tcn128", videos) or random_segments(rng, videos, 32, 34, 11)
    while len(segs) < videos:  # fewer real videos than asked: reuse structures
        segs = segs + segs[: videos - len(segs)]
    names = [f"video{i:03d}" for i in range(videos)]
    labels = [segments_to_labels(a, length) for a, length in segs]
    table = SegmentTable.from_labels(names, labels, k=K)
    content = ArchiveContent(
        codec="inversion", codec_config={"id": "inversion", "k": K}, decode_kind="mlp",
        class_names=[f"a{i:02d}" for i in range(11)], splits={"all": names}, table=table,
        codes=rng.standard_normal((table.num_codes, LATENT)).astype(np.float32),
        code_dim=LATENT, feature_dim=2048, decoder=tca_decoder(rng, 11),
    )
    archive = write_archive(content, tmp / "bench.tasz")
    export_archive(archive, tmp / "original", progress=False)
    return archive, tmp / "original", int(table.video_num_frames.sum())


def epoch(loader) -> float:
    t = time.perf_counter()
    for batch in loader:
        batch.input.sum()  # touch the data like a training step would
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 videos, workers 0 only")
    ap.add_argument("--videos", type=int, default=None)
    ap.add_argument("--workers", type=int, nargs="+", default=None)
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS and torch threads (default: the libraries' own choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    videos = args.videos or (8 if args.quick else 28)
    workers = args.workers or ([0] if args.quick else [0, 2])
    print("# DataLoader epoch benchmark (GTEA-shaped, D=2048)\n")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}, BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}"
          f", torch threads {torch.get_num_threads()}, GPU: {gpu}; "
          f"batch size {args.batch_size}\n")
    with tempfile.TemporaryDirectory(prefix="tascodec-loader-") as tmp:
        archive, original, frames = build(Path(tmp), videos)
        a_mb = archive.stat().st_size / 2**20
        o_mb = sum(p.stat().st_size for p in (original / "features").iterdir()) / 2**20
        print(f"{videos} videos, {frames} frames; archive {a_mb:.1f} MiB, original features "
              f"{o_mb:.1f} MiB (page cache warm)\n")
        print("| loader | workers | epoch 1 (s) | epoch 2 (s) | epoch 2 frames/s |")
        print("|---|---:|---:|---:|---:|")
        for w in workers:
            kw = dict(batch_size=args.batch_size, num_workers=w, persistent_workers=w > 0,
                      shuffle=False)
            npy = NpyDataset(original)
            loader = DataLoader(npy, collate_fn=npy.collate, **kw)
            e1, e2 = epoch(loader), epoch(loader)
            print(f"| original .npy (np.load) | {w} | {e1:.3f} | {e2:.3f} | {frames / e2:,.0f} |")
            ds = TaszDataset(archive, None)
            loader = DataLoader(ds, collate_fn=ds.collate, **kw)
            e1, e2 = epoch(loader), epoch(loader)
            print(f"| TaszDataset (decode, then LRU cache) | {w} | {e1:.3f} | {e2:.3f} | "
                  f"{frames / e2:,.0f} |")
            ds = TaszDataset(archive, None, cache_bytes=0)
            loader = DataLoader(ds, collate_fn=ds.collate, **kw)
            e1, e2 = epoch(loader), epoch(loader)
            print(f"| TaszDataset, no cache | {w} | {e1:.3f} | {e2:.3f} | {frames / e2:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
