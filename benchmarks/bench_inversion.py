"""Network inversion: the paper's recipe against ours, loss vs decoder evaluations.

    python -m benchmarks.bench_inversion [--quick] [--dataset synth:gtea] [--segments 16]

Trains a TCA (the ``cpu`` recipe's architecture, ``--epochs`` epochs on ``--train-videos``
videos), takes the first segments of a few videos (cut at a segment boundary) and inverts
their K instances with

* paper: random N(0, I) codes, Adam lr 1e-3, ``--ref-iters`` iterations (10K in the paper),
  every frame every iteration;
* ours: the ``cpu`` recipe (encoder warm start, Adam with a large step and per-instance
  plateau stopping, frame subsampling, Gram-form objective when D > H).

A decoder evaluation is one frame through the decoder (forward + backward count once). It
prints the MSE (original units, mean over frames and dims) at checkpoints for both, the
evaluations our recipe needed to reach the paper's final MSE and the ratio.

``--full [--per-frame] [--chunk-frames 32768,8192]`` instead times the ``cpu`` recipe on a
whole dataset: TCA training, then inversion at each chunk size (wall and system time, page
faults).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from ._common import machine_line, markdown_table, resolve_dataset

from tascodec.content import SegmentTable
from tascodec.tca.invert import invert
from tascodec.dataset.layout import StandardDataset
from tascodec.tca.recipes import get_recipe
from tascodec.segments import labels_to_segments
from tascodec.dataset.source import ArraySource
from tascodec.tca.train import train_tca


def subset_source(ds: StandardDataset, videos: list[str], segments: int) -> ArraySource:
    """The first segments of ``videos`` (about ``segments`` in all) as an in-memory source."""
    per_video = max(1, segments // len(videos))
    feats, labels = {}, {}
    for video in videos:
        y = ds.labels(video)
        seg = labels_to_segments(y)
        n = min(per_video, len(seg))
        cut = int(seg.start[n - 1] + seg.length[n - 1])
        feats[video] = np.ascontiguousarray(ds.features(video).T[:cut], dtype=np.float32)
        labels[video] = y[:cut]
    return ArraySource(feats, labels, ds.class_names)


def checkpoints(limit: int) -> tuple[int, ...]:
    marks = [1, 2, 5]
    out = [m * 10**e for e in range(6) for m in marks]
    return tuple(i for i in out if i <= limit) + (limit,)


def evals_to_reach(history: list[tuple[int, int, float]], final: tuple[int, float],
                   target: float) -> int | None:
    for _, ev, mse in history:
        if mse <= target:
            return ev
    return final[0] if final[1] <= target else None


def full_run(ds: StandardDataset, args: argparse.Namespace) -> None:
    """Train with the cpu recipe on every video, invert every video (K = args.k); print times."""
    from tascodec.dataset.source import EncodeSource

    vids = ds.videos[:args.videos] if args.videos else ds.videos
    src = EncodeSource(dataset=ds, videos=vids, training_videos=vids, splits={}, progress=False)
    recipe = get_recipe("cpu") if args.epochs is None else get_recipe("cpu", epochs=args.epochs)
    model, rep = train_tca(src, **recipe.train_kwargs(), progress=False)
    k = None if args.per_frame else args.k
    table = SegmentTable.from_labels(vids, [src.labels(v) for v in vids], k)
    chunk_sizes = args.chunk_frames or [recipe.invert_chunk_frames]
    runs = []
    for chunk in chunk_sizes:  # the same codes at every chunk size; only the time may differ
        kwargs = recipe.invert_kwargs() | {"chunk_frames": chunk}
        before = resource.getrusage(resource.RUSAGE_SELF)
        _, inv = invert(model, src, table, init="encoded", progress=False, **kwargs)
        after = resource.getrusage(resource.RUSAGE_SELF)
        runs.append((chunk, inv, after.ru_stime - before.ru_stime,
                     after.ru_minflt - before.ru_minflt))
    print(f"\nfull run, cpu recipe: {len(vids)} videos, {rep.frames} frames, D={ds.feature_dim}, "
          f"K={'l (per frame)' if k is None else k} ({table.num_codes} codes)\n")
    rows = [["train TCA", (f"{rep.epochs} epochs x {rep.frames_per_epoch} frames, batch "
                           f"{recipe.batch_size}, lr {recipe.lr}, kl_weight {recipe.kl_weight}"),
             f"{rep.wall_time_s:.1f}", f"loss {rep.loss:.4f} (recon {rep.recon:.4f})"]]
    for chunk, inv, sys_s, faults in runs:
        rows.append([
            f"invert, chunks of {chunk} frames",
            (f"encoded init, Adam lr {recipe.invert_lr}, tol {recipe.invert_tol}, max "
             f"{recipe.invert_max_iters} iters, <= {recipe.invert_max_frames_per_instance} "
             f"frames/instance; system time {sys_s:.1f} s, {faults:,} page faults"),
            f"{inv.wall_time_s:.1f}",
            (f"MSE {inv.init_mse:.5f} -> {inv.mse:.5f}; {inv.mean_iterations:.0f} mean iters, "
             f"{inv.decoder_evals} decoder evals"),
        ])
    rows.append(["total", "", f"{rep.wall_time_s + runs[0][1].wall_time_s:.1f}", "(first chunk size)"])
    print(markdown_table(["stage", "settings", "wall s", "result"], rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny preset, short reference")
    ap.add_argument("--dataset", default="synth:gtea", help="synth:<preset>[:D], a shared name or a path")
    ap.add_argument("--train-videos", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=None, help="TCA epochs (default: the cpu recipe's)")
    ap.add_argument("--segments", type=int, default=16, help="segments inverted (reference subset)")
    ap.add_argument("--subset-videos", type=int, default=4)
    ap.add_argument("--k", type=int, default=8, help="instances per segment")
    ap.add_argument("--ref-iters", type=int, default=10000)
    ap.add_argument("--work-dir", default=None)
    ap.add_argument("--full", action="store_true",
                    help="instead: train + invert the whole dataset with the cpu recipe, timed")
    ap.add_argument("--videos", type=int, default=0, help="--full: first N videos (0: all)")
    ap.add_argument("--per-frame", action="store_true", help="--full: one code per frame (K = l)")
    ap.add_argument("--chunk-frames", type=lambda t: [int(x) for x in t.split(",")], default=None,
                    help="--full: comma-separated chunk sizes to time (default: the recipe's)")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads (0: torch's default; 1 is faster on a busy machine)")
    args = ap.parse_args()
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    if args.quick:
        args.dataset, args.ref_iters, args.segments = "synth:tiny", 500, 12
        args.epochs = args.epochs or 10
    recipe = get_recipe("cpu")
    if args.epochs is not None:
        recipe = get_recipe("cpu", epochs=args.epochs)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="bench_inversion_"))
    ds = StandardDataset(resolve_dataset(args.dataset, work))
    print(machine_line())
    if args.full:
        full_run(ds, args)
        return
    vids = ds.videos
    train_src = ArraySource({v: ds.features(v).T for v in vids[:args.train_videos]},
                            {v: ds.labels(v) for v in vids[:args.train_videos]}, ds.class_names)
    model, rep = train_tca(train_src, **recipe.train_kwargs(), progress=False)
    print(f"\ndataset {args.dataset}: D={ds.feature_dim}, A={len(ds.class_names)}; TCA trained on "
          f"{args.train_videos} videos ({rep.frames} frames), {rep.epochs} epochs x "
          f"{rep.frames_per_epoch} frames, {rep.wall_time_s:.1f} s (recon {rep.recon:.4f})")

    src = subset_source(ds, vids[:args.subset_videos], args.segments)
    table = SegmentTable.from_labels(src.videos, [src.labels(v) for v in src.videos], args.k)
    frames = int(table.video_num_frames.sum())
    print(f"subset: {len(table.seg_length)} segments, {table.num_codes} instances (K={args.k}), "
          f"{frames} frames\n")

    marks = checkpoints(args.ref_iters)
    t0 = time.perf_counter()
    _, paper = invert(model, src, table, init="random", max_iters=args.ref_iters, tol=None,
                      lr=1e-3, lr_decays=0, max_frames_per_instance=None, progress=False,
                      history_at=marks)
    paper_s = time.perf_counter() - t0
    ours_kw = recipe.invert_kwargs()
    ours_marks = checkpoints(ours_kw["max_iters"])
    _, ours = invert(model, src, table, init="encoded", progress=False, history_at=ours_marks,
                     **ours_kw)

    rows = []
    for it, ev, mse in paper.history:
        rows.append(["paper", it, ev, f"{mse:.5f}"])
    rows.append(["paper (final)", paper.iterations, paper.decoder_evals, f"{paper.mse:.5f}"])
    for it, ev, mse in ours.history:
        rows.append(["ours", it, ev, f"{mse:.5f}"])
    rows.append(["ours (final)", ours.iterations, ours.decoder_evals, f"{ours.mse:.5f}"])
    print(markdown_table(["recipe", "iteration", "decoder evals", "MSE"], rows))

    target = paper.mse
    need = evals_to_reach(ours.history, (ours.decoder_evals, ours.mse), target)
    print()
    summary = [
        ["paper: random init, Adam lr 1e-3", f"{args.ref_iters}", f"{paper.decoder_evals}",
         f"{paper.encoder_evals}", f"{paper.init_mse:.5f}", f"{paper.mse:.5f}", f"{paper_s:.1f}"],
        [f"ours: encoded init, Adam lr {ours_kw['lr']}, tol {ours_kw['tol']}",
         f"{ours.iterations} (mean {ours.mean_iterations:.0f})", f"{ours.decoder_evals}",
         f"{ours.encoder_evals}", f"{ours.init_mse:.5f}", f"{ours.mse:.5f}",
         f"{ours.wall_time_s:.1f}"],
    ]
    print(markdown_table(["recipe", "iterations", "decoder evals", "encoder evals", "init MSE",
                          "final MSE", "wall s"], summary))
    if need is None:
        print(f"\nours did not reach the paper's final MSE {target:.5f} (ours {ours.mse:.5f})")
    else:
        print(f"\nours reached the paper's final MSE {target:.5f} after {need} decoder evals: "
              f"{paper.decoder_evals / need:.1f}x fewer than the paper's {paper.decoder_evals} "
              f"(target >= 20x); wall {paper_s:.1f} s vs {ours.wall_time_s:.1f} s")


if __name__ == "__main__":
    main()
