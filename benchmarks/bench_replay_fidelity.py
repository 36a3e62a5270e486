"""What replay keeps of each incremental task: ``mean`` against ``inversion`` and
``mean+inversion`` at mean's bytes.

    python -m benchmarks.bench_replay_fidelity [--settings gtea,breakfast] [--folds 1,2,3,4]
        [--codecs inversion,mean+inversion] [--breakfast-videos 80]
        [--breakfast-sample-rate 16] [--out DIR]

For every task but the last of a fold (what ``bench_incremental`` replays), the task's training
videos are condensed alone, as ``--archive-mode per-task`` does: ``codec="mean"``, then each
of ``--codecs`` (default ``inversion,mean+inversion``) with ``k="auto"`` and ``max_bytes`` =
the mean archive's bytes. Each archive's
decoded frames x' are compared with the originals x, in the feature space (no normalisation),
as shares of the frames' energy ``sum ||x||^2``:

* ``error``: ``sum ||x' - x||^2``, the reconstruction error;
* ``mean error``: ``sum_s l_s ||mean_s(x') - mean_s(x)||^2``, the part of it that moves the
  segments' mean frames (0 for ``mean``, which stores them; int8 rounding for
  ``mean+inversion``);
* ``variation kept``: ``sum ||x' - mean_s(x')||^2``, the within-segment variation of the
  decoded frames, next to the originals' own (``variation``).

``error`` = ``mean error`` + the within-segment part, so the table shows where each codec
spends its error: ``mean`` all of it on variation, inversion partly on the means.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from tascodec.rate import at_budget_or_floor

from ._common import SHARED_DATA, machine, machine_line, markdown_table, parse_list, \
    resolve_dataset, write_results
from .bench_incremental import BREAKFAST_TASKS, GTEA_FOLDS, GTEA_TASKS, _TASK_SPLIT, \
    breakfast_activity, gtea_activity, split_tasks, write_task_folder

__all__ = ["energy_shares", "main"]


def energy_shares(decoded: np.ndarray, original: np.ndarray, labels: np.ndarray
                  ) -> dict[str, float]:
    """Sums over one video's frames (T, D) with labels (T,): error, mean error, variation of
    the decoded and of the original frames, and the original energy (see the module doc)."""
    x, y = np.asarray(decoded, np.float64), np.asarray(original, np.float64)
    cut = np.flatnonzero(np.diff(np.asarray(labels))) + 1
    out = {"error": float(((x - y) ** 2).sum()), "energy": float((y ** 2).sum()),
           "mean_error": 0.0, "variation_kept": 0.0, "variation": 0.0}
    for a, b in zip(np.r_[0, cut], np.r_[cut, len(y)]):
        mx, my = x[a:b].mean(0), y[a:b].mean(0)
        out["mean_error"] += float((b - a) * ((mx - my) ** 2).sum())
        out["variation_kept"] += float(((x[a:b] - mx) ** 2).sum())
        out["variation"] += float(((y[a:b] - my) ** 2).sum())
    return out


def archive_shares(path: Path, folder: Path) -> dict[str, float]:
    """``energy_shares`` summed over an archive's videos, as shares of the energy."""
    import tascodec
    from tascodec.dataset.layout import StandardDataset

    data = StandardDataset(folder)
    total: dict[str, float] = {}
    with tascodec.open(path) as archive:
        for v in archive.videos:
            got = energy_shares(archive.decode(v), data.features(v).T, data.labels(v))
            total = {k: total.get(k, 0.0) + got[k] for k in got}
    return {k: total[k] / total["energy"] for k in total if k != "energy"}


def run_fold(split: Any, work: Path, codecs: list[str]) -> list[dict[str, Any]]:
    from tascodec.encoding.encode import encode

    rows = []
    for t in range(len(split.tasks) - 1):
        folder = write_task_folder(split, t, work / f"{split.name}-task{t}")
        mean_out = work / f"{split.name}-mean{t}.tasz"
        common = {"split": _TASK_SPLIT, "gamma": 1.0, "seed": 0, "device": "cpu",
                  "overwrite": True, "progress": False}
        encode(folder, mean_out, codec="mean", k=1, **common)
        rows.append({"task": split.tasks[t], "codec": "mean",
                     "bytes": mean_out.stat().st_size, **archive_shares(mean_out, folder)})
        for codec in codecs:
            out = work / f"{split.name}-{codec}{t}.tasz"
            summary, _ = at_budget_or_floor(lambda budget: encode(
                folder, out, codec=codec, k="auto", max_bytes=budget, recipe="cpu", **common),
                mean_out.stat().st_size)
            rows.append({"task": split.tasks[t], "codec": codec, "bytes": out.stat().st_size,
                         "over_mean": out.stat().st_size > mean_out.stat().st_size,
                         **archive_shares(out, folder),
                         "latent_dim": summary.codec_config.get("latent_dim"),
                         "hidden_dim": summary.codec_config.get("hidden_dim")})
        print(f"[{split.name}] task {t}: " + "; ".join(
            f"{r['codec']} {r['bytes']} B error {r['error']:.3f} mean error "
            f"{r['mean_error']:.3f}" for r in rows[-1 - len(codecs):]), file=sys.stderr,
            flush=True)
    return rows


def summary_table(results: dict[str, list[dict[str, Any]]]) -> str:
    """Per setting and codec, over folds and tasks: bytes and the energy shares (mean, min-max)."""
    lines = []
    for setting, rows in results.items():
        for codec in dict.fromkeys(r["codec"] for r in rows):
            mine = [r for r in rows if r["codec"] == codec]
            if not mine:
                continue

            def cell(key: str) -> str:
                v = np.array([r[key] for r in mine])
                return f"{100 * v.mean():.1f} ({100 * v.min():.1f}-{100 * v.max():.1f})"
            over = sum(bool(r.get("over_mean")) for r in mine)
            lines.append([setting, codec, f"{len(mine)}" + (f" ({over} over mean)" if over else ""),
                          f"{np.sum([r['bytes'] for r in mine]):,}",
                          cell("error"), cell("mean_error"), cell("variation_kept"),
                          cell("variation")])
    return markdown_table(["setting", "codec", "tasks", "bytes", "error %", "mean error %",
                           "variation kept %", "variation %"], lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--settings", default="gtea")
    p.add_argument("--folds", default="1,2,3,4")
    p.add_argument("--codecs", default="inversion,mean+inversion",
                   help="codecs matched to mean's bytes, comma-separated")
    p.add_argument("--breakfast-dim", type=int, default=256)
    p.add_argument("--breakfast-videos", type=int, default=80)
    p.add_argument("--breakfast-sample-rate", type=int, default=16)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/replay-fidelity"))
    args = p.parse_args(argv)
    import tempfile

    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="tascodec-replay-") as tmp:
        work = Path(tmp)
        for setting in parse_list(args.settings, str):
            rows = results.setdefault(setting, [])
            for k in parse_list(args.folds, int):
                if setting == "gtea":
                    split = split_tasks(f"gtea-fold{k}", SHARED_DATA / GTEA_FOLDS[k - 1],
                                        "split1", GTEA_TASKS, gtea_activity)
                else:
                    root = resolve_dataset(f"synth:breakfast:{args.breakfast_dim}:"
                                           f"{args.breakfast_videos}", work / "data")
                    split = split_tasks(f"breakfast-fold{k}", root, f"split{k}",
                                        BREAKFAST_TASKS, breakfast_activity,
                                        args.breakfast_sample_rate)
                rows += [{"fold": k, **r} for r in run_fold(split, work,
                                                            parse_list(args.codecs, str))]
                _write(args, results)  # after every fold: a run stopped early keeps it
    print(_write(args, results))
    return 0


def _write(args: argparse.Namespace, results: dict[str, list[dict[str, Any]]]) -> str:
    info = machine()
    text = f"{machine_line(info)}\n\n{summary_table(results)}"
    write_results(args.out, "replay-fidelity", {"machine": info, "args": {
        k: str(v) for k, v in vars(args).items()}, "rows": results}, text)
    return text


if __name__ == "__main__":
    raise SystemExit(main())
