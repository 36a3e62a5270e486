"""Incremental action segmentation with replay (the paper's section 5 and Table 5), on a CPU.

    python -m benchmarks.bench_incremental [--quick] [--full] [--settings gtea,breakfast]
        [--folds 1,2] [--seeds 0] [--epochs N] [--arms finetune,raw,mean,tca-random,inversion]
        [--archive-mode per-task|append] [--out DIR] [--replot RESULTS.json]

Protocol (iTAS, Ding et al. CVPR 2024, as the paper applies it): activities arrive one task at
a time; each activity's actions are classes of their own (disjoint from every other
activity's: class ``"<activity>:<action>"``); one MS-TCN is carried across tasks and trained
``--epochs`` epochs on each task's training videos plus the replay of every earlier task
(a fresh Adam per task; the output layer spans every class from the start, and predictions
are taken over the classes seen so far). After each task the model is scored on the test
videos of every task seen so far; the tables give the scores after the last task and their
mean over the tasks (Acc, Edit, F1@{10,25,50}, the ``asformer`` metric convention), and the
replay storage: the bytes kept of tasks 1..T-1, all that the last task replays (the last
task is never condensed: nothing trains on it later).

Replay arms (``--arms``):

* ``finetune``: no replay (the forgetting floor; 0 bytes);
* ``raw``: every earlier task's training features as float32 (the ceiling);
* ``mean``: each segment's mean frame (``codec="mean"``, K = 1);
* ``tca-random``: the task's TCA decoder, codes drawn at decode time (K = 1);
* ``inversion``: rate-controlled inversion (``k="auto"``) with ``max_bytes`` set per task to
  the bytes of that task's ``mean`` archive: the matched-storage point (equal or fewer bytes);
* ``inversion@50x``: a plain ``encode`` (``k="auto"``, target ratio 50) of each task.
* ``mean+inversion``: each segment's mean frame (int8) plus inversion of the residual frames
  (``codec="mean+inversion"``, ``k="auto"``), matched to mean's bytes as ``inversion`` is.

How a task is condensed is ``condense_task`` (``--archive-mode``): ``per-task`` writes one
archive per task and replays from all earlier ones; ``append`` grows one archive task by task
and needs ``tascodec.append``.

Settings: ``gtea``: the real GTEA features, 7 tasks (Cheese, Coffee, CofHoney, Hotdog,
Pealate, Peanut, Tea); fold k is the ``gtea-tcn128`` folder of split k (subject k held out),
so each task has 3 training videos and 1 test video. ``breakfast``: 10 tasks (the Breakfast
activities) on the synthetic ``breakfast`` preset (transcripts and lengths fitted to the real
``breakfast-gt``), at ``--breakfast-dim`` x ``--breakfast-videos`` (default 256 x 40: one
subject per fold group, so each task has 3 training videos and 1 test video per fold), every
``--breakfast-sample-rate``-th frame (default 4, MS-TCN's ``sample_rate``: training, scoring and
condensing all see the subsampled videos); ``--full`` is the paper's size (D = 2048, all 1712
videos, every frame: days on a CPU).

Writes ``incremental.json`` / ``incremental.md`` under ``--out`` (after every seed of every
fold: a run stopped early keeps each seed it finished, for every arm) and one PNG per setting
under ``--plots`` (``--replot`` merges results files and redraws them).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tascodec.errors import TascodecError
from tascodec.loading.items import decoded_item
from tascodec.rate import at_budget_or_floor

from ._common import (
    SHARED_DATA,
    machine,
    machine_line,
    markdown_table,
    parse_list,
    resolve_dataset,
    write_results,
)

__all__ = ["ARMS", "SETTINGS", "TaskSplit", "all_targets", "condense_task", "gap_closed",
           "main", "paired_differences"]

METRICS = ("acc", "edit", "f1@10", "f1@25", "f1@50")
METRIC_NAMES = {"acc": "Acc", "edit": "Edit", "f1@10": "F1@10", "f1@25": "F1@25",
                "f1@50": "F1@50"}
GTEA_TASKS = ["Cheese", "Coffee", "CofHoney", "Hotdog", "Pealate", "Peanut", "Tea"]
GTEA_FOLDS = ["gtea-tcn128", "gtea-tcn128-split2", "gtea-tcn128-split3", "gtea-tcn128-split4"]
BREAKFAST_TASKS = ["cereals", "coffee", "friedegg", "juice", "milk", "pancake", "salat",
                   "sandwich", "scrambledegg", "tea"]
SETTINGS = ("gtea", "breakfast")
#: arm -> encode() keywords (None: not condensed). ``inversion``'s max_bytes is set per task.
ARMS: dict[str, dict[str, Any] | None] = {
    "finetune": None,
    "raw": None,
    "mean": {"codec": "mean", "k": 1, "gamma": 1.0},
    "tca-random": {"codec": "tca-random", "k": 1, "gamma": 1.0},
    "inversion": {"codec": "inversion", "k": "auto", "gamma": 1.0},
    "inversion@50x": {"codec": "inversion", "k": "auto", "gamma": 1.0, "target_ratio": 50.0},
    "mean+inversion": {"codec": "mean+inversion", "k": "auto", "gamma": 1.0},
}
DEFAULT_ARMS = ["finetune", "raw", "mean", "tca-random", "inversion"]
QUICK_ARMS = ["finetune", "raw", "mean", "inversion"]
ARCHIVE_MODES = ("per-task", "append")
#: arms whose max_bytes is each task's mean bytes (the matched-storage comparison)
MATCHED = ("inversion", "mean+inversion")
DEFAULT_EPOCHS = 10
DEFAULT_OUT = "benchmarks/results/incremental"
_TASK_SPLIT = "train.split1"  # the one split of a task's dataset folder


# -- tasks ------------------------------------------------------------------------------------

def gtea_activity(video: str) -> str:
    """``S1_Cheese_C1`` -> ``Cheese``."""
    return video.split("_")[1]


def breakfast_activity(video: str) -> str:
    """``P03_cam01_P03_cereals`` -> ``cereals``."""
    return video.rsplit("_", 1)[1]


@dataclass
class TaskSplit:
    """One fold of a setting cut into tasks, with disjoint per-activity classes.

    ``classes``: global class names ``"<task>:<action>"`` (task by task, actions in id order);
    ``labels[v]``: video v's frame labels (T,) as global ids; ``train[t]`` / ``test[t]``: task
    t's videos; ``task_classes[t]``: its global ids.
    """

    name: str
    root: Path
    tasks: list[str]
    train: list[list[str]]
    test: list[list[str]]
    classes: list[str]
    task_classes: list[list[int]]
    labels: dict[str, np.ndarray]
    dataset: Any = field(repr=False)
    sample_rate: int = 1

    def features(self, video: str) -> np.ndarray:
        """(D, T) float32 (every ``sample_rate``-th frame)."""
        x = np.asarray(self.dataset.features(video), dtype=np.float32)
        return np.ascontiguousarray(x[:, :: self.sample_rate])

    def item(self, video: str) -> tuple[np.ndarray, np.ndarray]:
        return self.features(video), self.labels[video]


def split_tasks(name: str, root: Path, fold: str, tasks: Sequence[str],
                activity: Callable[[str], str], sample_rate: int = 1) -> TaskSplit:
    """Cut fold ``fold`` (``"split1"``) of the dataset at ``root`` into ``tasks``; features
    and labels keep every ``sample_rate``-th frame (MS-TCN's ``sample_rate``)."""
    from tascodec.dataset.layout import StandardDataset
    from tascodec.dataset.splits import split_names

    dataset = StandardDataset(root)
    train_key, test_key = split_names(fold)
    train_all, test_all = dataset.split(train_key), dataset.split(test_key)
    train = [[v for v in train_all if activity(v) == t] for t in tasks]
    test = [[v for v in test_all if activity(v) == t] for t in tasks]
    empty = [t for t, tr, te in zip(tasks, train, test) if not tr or not te]
    if empty:
        raise SystemExit(f"{root} ({fold}): tasks {empty} have no training or no test video")
    classes: list[str] = []
    task_classes: list[list[int]] = []
    labels: dict[str, np.ndarray] = {}
    for t, task in enumerate(tasks):
        local = sorted({int(c) for v in train[t] + test[t] for c in np.unique(dataset.labels(v))})
        to_global = np.full(dataset.num_classes, -1, dtype=np.int64)
        for c in local:
            to_global[c] = len(classes)
            classes.append(f"{task}:{dataset.class_names[c]}")
        task_classes.append([int(to_global[c]) for c in local])
        for v in train[t] + test[t]:
            labels[v] = to_global[dataset.labels(v)][::sample_rate]
    return TaskSplit(name, Path(root), list(tasks), train, test, classes, task_classes, labels,
                     dataset, sample_rate)


def write_task_folder(split: TaskSplit, t: int, out: Path) -> Path:
    """Task t's training videos as a standard-layout dataset: its own classes only (named
    globally), one split ``train.split1``. What ``encode`` condenses for that task."""
    from tascodec.dataset.layout_write import LayoutWriter

    if (out / "mapping.txt").is_file():  # written whole (mapping last) for an earlier arm
        return out
    ids = split.task_classes[t]
    local = np.full(len(split.classes), -1, dtype=np.int64)
    local[ids] = np.arange(len(ids))
    writer = LayoutWriter(out, [split.classes[i] for i in ids])
    for v in split.train[t]:
        writer.write_video(v, split.features(v), local[split.labels[v]])
    writer.write_split(_TASK_SPLIT, split.train[t])
    writer.write_mapping()
    return out


# -- condensing -------------------------------------------------------------------------------

@dataclass
class Memory:
    """What an arm keeps of earlier tasks: archives (per-task mode: one per task; append mode:
    one, grown), raw videos (``raw``), and the bytes kept."""

    archives: list[Path] = field(default_factory=list)
    raw_videos: list[str] = field(default_factory=list)
    bytes_per_task: list[int] = field(default_factory=list)
    encode_seconds: list[float] = field(default_factory=list)
    configs: list[dict[str, Any]] = field(default_factory=list)
    over_budget: list[dict[str, int]] = field(default_factory=list)


def condense_task(arm: str, mode: str, memory: Memory, split: TaskSplit, t: int, work: Path,
                  *, recipe: str, device: str, mean_bytes: int | None,
                  cache: dict[str, Any]) -> None:
    """Condense task t's training videos for ``arm`` and add them to ``memory``.

    The one place a task's replay data is made. ``mode="per-task"``: a task folder is encoded
    into its own archive. ``mode="append"``: the task's videos are appended to one archive
    (``tascodec.append``, the decoder of the first task reused). ``mean_bytes``: the bytes of
    this task's ``mean`` archive, the ``max_bytes`` of the ``inversion`` arm.
    """
    params = ARMS[arm]
    if params is None:
        if arm == "raw":
            memory.raw_videos += split.train[t]
            memory.bytes_per_task.append(
                sum(split.features(v).nbytes for v in split.train[t]))
        else:
            memory.bytes_per_task.append(0)
        return
    import tascodec
    from tascodec.encoding.encode import encode

    from tascodec.codecs.options import taken_options

    params = {**params, **taken_options(params["codec"], {"recipe": recipe})}
    if arm in MATCHED:
        if mean_bytes is None:
            raise SystemExit("the inversion arm is matched to mean's bytes: run --arms with mean")
        params["max_bytes"] = int(mean_bytes)
    folder = write_task_folder(split, t, work / f"{split.name}-task{t}")
    start = time.perf_counter()
    if mode == "per-task":
        out = work / f"{split.name}-{arm}-task{t}.tasz"
        summary = _within_floor(memory, t, params, lambda kw: encode(
            folder, out, split=_TASK_SPLIT, seed=0, device=device, overwrite=True,
            progress=False, cache=cache, **kw))
        memory.archives.append(out)
        memory.bytes_per_task.append(out.stat().st_size)
        memory.configs.append(dict(summary.codec_config))
    elif mode == "append":
        out = work / f"{split.name}-{arm}.tasz"
        before = out.stat().st_size if out.exists() else 0
        if not memory.archives:
            _within_floor(memory, t, params, lambda kw: encode(
                folder, out, split=_TASK_SPLIT, seed=0, device=device, overwrite=True,
                progress=False, cache=cache, **kw))
            memory.archives.append(out)
        else:
            with tascodec.open(out) as archive:
                known = set(archive.class_names)
                learned = archive.decoder_arch(len(archive.groups) - 1) is not None
            new_classes = {split.classes[i] for i in split.task_classes[t]}
            if learned and new_classes <= known:  # the stored decoder covers the task
                tascodec.append(out, folder, videos=list(split.train[t]), decoder="reuse",
                                seed=0, device=device)
            else:  # new classes (every task here brings its own) or a codec without decoder
                _within_floor(memory, t, params, lambda kw: tascodec.append(
                    out, folder, videos=list(split.train[t]), decoder="new", seed=0,
                    device=device, **kw))
        memory.bytes_per_task.append(out.stat().st_size - before)
    else:
        raise SystemExit(f"--archive-mode: expected one of {ARCHIVE_MODES}, got {mode!r}")
    memory.encode_seconds.append(time.perf_counter() - start)


def _within_floor(memory: Memory, t: int, params: dict[str, Any],
                  run: Callable[[dict[str, Any]], Any]) -> Any:
    """``run(params)``; when mean's bytes (``max_bytes``) cannot hold the task's decoder and
    two codes per segment, the smallest workable archive instead (``at_budget_or_floor``),
    recorded in ``memory.over_budget`` as over mean's bytes."""
    if "max_bytes" not in params:
        return run(params)
    mean_bytes = params["max_bytes"]
    result, used = at_budget_or_floor(lambda b: run({**params, "max_bytes": b}), mean_bytes)
    if used != mean_bytes:
        memory.over_budget.append({"task": t, "mean_bytes": mean_bytes, "max_bytes": used})
    return result


def replay_items(memory: Memory, split: TaskSplit) -> list[tuple[np.ndarray, np.ndarray]]:
    """Training items (features (D, T), global labels (T,)) replayed from ``memory``."""
    items = [split.item(v) for v in memory.raw_videos]
    index = {name: i for i, name in enumerate(split.classes)}
    import tascodec

    for path in memory.archives:
        with tascodec.open(path) as archive:
            to_global = np.array([index[c] for c in archive.class_names], dtype=np.int64)
            items += [decoded_item(archive, v, class_map=to_global) for v in archive.videos]
    return items


# -- training and scoring ---------------------------------------------------------------------

@dataclass(frozen=True)
class ModelConfig:
    epochs: int
    stages: int = 4
    layers: int = 10
    f_maps: int = 64
    lr: float = 5e-4


def train_task(model: Any, items: list[Any], num_classes: int, config: ModelConfig,
               seed: int) -> Any:
    """Carry ``model`` (None: a new MS-TCN) through ``config.epochs`` epochs on ``items``,
    with a fresh Adam (the loop of ``tascodec.harness.mstcn.fit``, seeded by ``seed``)."""
    import torch

    from tascodec.harness.mstcn import MSTCN, fit

    def build(dim: int) -> tuple[Any, Any, None]:
        m = model if model is not None else MSTCN(config.stages, config.layers, config.f_maps,
                                                  dim, num_classes)
        return m, torch.optim.Adam(m.parameters(), lr=config.lr), None

    return fit(build, items, num_classes=num_classes, epochs=config.epochs, seed=seed,
               device=torch.device("cpu"), progress=False, batch_size=1, history=None,
               desc="MS-TCN")


def score_seen(model: Any, split: TaskSplit, t: int) -> dict[str, float]:
    """Scores on the test videos of tasks 0..t, argmax over the classes of tasks 0..t."""
    import torch

    from tascodec.harness.metrics import evaluate_segmentation

    seen = np.zeros(len(split.classes), dtype=bool)
    for ids in split.task_classes[: t + 1]:
        seen[ids] = True
    videos = [v for vs in split.test[: t + 1] for v in vs]
    gt, pred = [], []
    with torch.no_grad():
        for v in videos:
            x = torch.from_numpy(np.array(split.features(v)))  # a writable copy
            logits = model(x.unsqueeze(0))[-1, 0]  # (C, T)
            logits[torch.from_numpy(~seen)] = float("-inf")
            pred.append(logits.argmax(dim=0).numpy())
            gt.append(split.labels[v])
    scores = evaluate_segmentation(gt, pred, convention="asformer")
    return {k: float(scores[k]) for k in METRICS}


def run_arm(split: TaskSplit, memories: list[Memory], config: ModelConfig,
            seed: int) -> list[dict[str, float]]:
    """Train task by task with the replay of ``memories[t]`` (what was kept of tasks < t
    before task t); the scores after each task."""
    model, stages = None, []
    for t in range(len(split.tasks)):
        items = [split.item(v) for v in split.train[t]] + replay_items(memories[t], split)
        model = train_task(model, items, len(split.classes), config, seed * 1000 + t)
        stages.append(score_seen(model, split, t))
    return stages


def gap_closed(arm: float, floor: float, ceiling: float) -> float | None:
    """(arm - floor) / (ceiling - floor): the share of fine-tuning's gap to raw replay that
    the arm closes (None when the ceiling is not above the floor)."""
    return None if ceiling <= floor else (arm - floor) / (ceiling - floor)


# -- one setting ------------------------------------------------------------------------------

def run_fold(split: TaskSplit, arms: list[str], seeds: list[int], config: ModelConfig,
             args: argparse.Namespace, work: Path,
             progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Condense every arm's tasks 0..T-2, then train every arm per seed; the fold's record.

    Seeds run in the outer loop, so after each seed every arm has one more run and
    ``progress(record)`` can keep a run that is stopped early comparable across arms."""
    import copy

    n = len(split.tasks)
    memories: dict[str, list[Memory]] = {}
    caches: dict[int, dict[str, Any]] = {}
    mean_bytes: list[int] = []
    order = sorted(arms, key=lambda a: a != "mean")  # mean first: inversion matches its bytes
    if set(arms) & set(MATCHED) and "mean" not in arms:
        order = ["mean"] + order
    errors: dict[str, str] = {}
    for arm in order:
        memory, snapshots = Memory(), [Memory()]
        try:
            for t in range(n - 1):
                condense_task(arm, args.archive_mode, memory, split, t, work,
                              recipe=args.recipe, device=args.device,
                              cache=caches.setdefault(t, {}),
                              mean_bytes=mean_bytes[t] if arm in MATCHED else None)
                snapshots.append(copy.deepcopy(memory))
        except TascodecError as exc:  # an arm that cannot be condensed is reported, not run
            errors[arm] = f"task {t}: {exc}"
            print(f"[{split.name}] {arm}: {errors[arm]}", file=sys.stderr)
            continue
        if arm == "mean":
            mean_bytes = list(memory.bytes_per_task)
        memories[arm] = snapshots
        print(f"[{split.name}] {arm}: condensed {n - 1} tasks, "
              f"{sum(memory.bytes_per_task)} bytes, {sum(memory.encode_seconds):.0f} s",
              file=sys.stderr)
    record: dict[str, Any] = {"tasks": split.tasks, "classes": len(split.classes),
                              "train_videos": [len(v) for v in split.train],
                              "test_videos": [len(v) for v in split.test], "arms": {},
                              "errors": errors}
    trained = [arm for arm in arms if arm not in errors]
    for arm in trained:
        mem = memories[arm][-1]
        record["arms"][arm] = {
            "replay_bytes": int(sum(mem.bytes_per_task)),
            "bytes_per_task": [int(b) for b in mem.bytes_per_task],
            "encode_seconds": [round(s, 2) for s in mem.encode_seconds],
            "codec_configs": mem.configs, "over_budget": mem.over_budget,
            "per_seed": [],
        }
    for seed in seeds:
        for arm in trained:
            start = time.perf_counter()
            stages = run_arm(split, memories[arm], config, seed)
            per_seed = record["arms"][arm]["per_seed"]
            per_seed.append({"seed": seed, "stages": stages,
                             "seconds": time.perf_counter() - start})
            print(f"[{split.name}] {arm} seed {seed}: final "
                  + " ".join(f"{METRIC_NAMES[k]} {stages[-1][k]:.1f}" for k in METRICS)
                  + f" ({per_seed[-1]['seconds']:.0f} s)", file=sys.stderr)
        if progress is not None:
            progress(record)
    return record


def summarise(folds: dict[str, Any], arms: list[str]) -> dict[str, Any]:
    """Per arm, over folds and seeds: mean and std of the final and the task-averaged scores,
    the mean curve per task, and the mean replay bytes."""
    out: dict[str, Any] = {}
    for arm in arms:
        runs = [s for f in folds.values() if arm in f["arms"] for s in f["arms"][arm]["per_seed"]]
        if not runs:
            continue
        curves = np.array([[[st[k] for k in METRICS] for st in r["stages"]] for r in runs])
        final, avg = curves[:, -1, :], curves.mean(axis=1)
        sd = (lambda a: a.std(axis=0, ddof=1)) if len(runs) > 1 else (lambda a: np.zeros(a.shape[1]))
        out[arm] = {
            "runs": len(runs),
            "replay_bytes": float(np.mean([f["arms"][arm]["replay_bytes"]
                                           for f in folds.values() if arm in f["arms"]])),
            "final": dict(zip(METRICS, final.mean(axis=0).tolist())),
            "final_std": dict(zip(METRICS, sd(final).tolist())),
            "avg": dict(zip(METRICS, avg.mean(axis=0).tolist())),
            "avg_std": dict(zip(METRICS, sd(avg).tolist())),
            "curve": {k: curves[:, :, i].mean(axis=0).tolist() for i, k in enumerate(METRICS)},
        }
    return out


def paired_differences(folds: dict[str, Any], arm: str, against: str = "mean"
                       ) -> dict[str, Any] | None:
    """``arm`` minus ``against``, run by run (same fold, same seed): per metric, after the last
    task (``final``) and averaged over tasks (``avg``), the mean difference, its standard
    error and how many runs ``arm`` was ahead in; ``None`` without paired runs."""
    pairs = []
    for f in folds.values():
        if arm not in f["arms"] or against not in f["arms"]:
            continue
        other = {r["seed"]: r["stages"] for r in f["arms"][against]["per_seed"]}
        pairs += [(r["stages"], other[r["seed"]]) for r in f["arms"][arm]["per_seed"]
                  if r["seed"] in other]
    if not pairs:
        return None
    out: dict[str, Any] = {"runs": len(pairs)}
    for which in ("final", "avg"):
        rows = {}
        for k in METRICS:
            pick = ((lambda st: st[-1][k]) if which == "final"
                    else (lambda st: float(np.mean([x[k] for x in st]))))
            d = np.array([pick(a) - pick(b) for a, b in pairs])
            se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
            rows[k] = {"mean": float(d.mean()), "se": se, "ahead": int((d > 0).sum())}
        out[which] = rows
    return out


def paired_text(arm: str, p: dict[str, Any] | None) -> str:
    if p is None:
        return f"{arm} - mean: no paired runs"
    cells = [f"{METRIC_NAMES[k]} {which} {p[which][k]['mean']:+.1f} ± {p[which][k]['se']:.1f} "
             f"({p[which][k]['ahead']}/{p['runs']} ahead)"
             for which in ("final", "avg") for k in ("acc", "edit", "f1@50")]
    return (f"{arm} - mean, paired over {p['runs']} runs (fold x seed; mean ± standard "
            f"error): " + "; ".join(cells))


def targets(summary: dict[str, Any], arm: str = "inversion") -> dict[str, Any]:
    """The issue's targets for ``arm``: it beats mean at equal or fewer bytes; it closes at
    least half of fine-tuning's gap to raw replay on Acc and F1@50 (after the last task)."""
    need = ("finetune", "raw", "mean", arm)
    if any(a not in summary for a in need):
        return {"evaluated": False, "arm": arm,
                "missing_arms": [a for a in need if a not in summary]}
    ft, raw, mean, inv = (summary[a] for a in need)
    out: dict[str, Any] = {"evaluated": True, "arm": arm,
                           "bytes_arm": inv["replay_bytes"], "bytes_mean": mean["replay_bytes"],
                           "fewer_or_equal_bytes": inv["replay_bytes"] <= mean["replay_bytes"]}
    for which in ("final", "avg"):
        out[f"beats_mean_{which}"] = {k: inv[which][k] > mean[which][k] for k in METRICS}
        out[f"gap_closed_{which}"] = {k: gap_closed(inv[which][k], ft[which][k], raw[which][k])
                                      for k in METRICS}
    out["target_beats_mean"] = bool(out["fewer_or_equal_bytes"] and all(
        out["beats_mean_final"][k] for k in ("acc", "f1@50")))
    out["target_half_gap"] = all((out["gap_closed_final"][k] or 0) >= 0.5
                                 for k in ("acc", "f1@50"))
    return out


def all_targets(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``targets`` of every matched arm that ran (``inversion`` when none did)."""
    arms = [a for a in MATCHED if a in summary] or ["inversion"]
    return {arm: targets(summary, arm) for arm in arms}


# -- tables and plots -------------------------------------------------------------------------

def _bytes(n: float) -> str:
    from tascodec.units import format_bytes

    return "0" if n == 0 else format_bytes(int(n))


def setting_table(summary: dict[str, Any]) -> str:
    raw = summary.get("raw", {}).get("replay_bytes")
    rows = []
    for arm, s in summary.items():
        ratio = "-" if not raw or not s["replay_bytes"] else f"{raw / s['replay_bytes']:.1f}x"
        rows.append([arm, _bytes(s["replay_bytes"]), ratio]
                    + [f"{s['final'][k]:.1f}" + (f" ± {s['final_std'][k]:.1f}"
                                                   if s["runs"] > 1 else "") for k in METRICS]
                    + [f"{s['avg'][k]:.1f}" for k in METRICS])
    head = (["replay", "storage", "vs raw"] + [f"{METRIC_NAMES[k]} last" for k in METRICS]
            + [f"{METRIC_NAMES[k]} avg" for k in METRICS])
    return markdown_table(head, rows) + (
        "\n\n(last: after the last task, mean ± std over folds x seeds; avg: the mean over "
        "tasks of the scores after each task; storage: the replay bytes of tasks 1..T-1)")


def targets_text(t: dict[str, Any]) -> str:
    if not t.get("evaluated"):
        return f"targets not evaluated (arms missing: {t.get('missing_arms')})"
    gap = t["gap_closed_final"]
    fmt = (lambda g: "n/a" if g is None else f"{100 * g:.0f}%")
    return (f"{t['arm']} {_bytes(t['bytes_arm'])} vs mean {_bytes(t['bytes_mean'])}; "
            f"beats mean after the last task on Acc / F1@50: "
            f"{t['beats_mean_final']['acc']} / {t['beats_mean_final']['f1@50']} "
            f"-> target **{'met' if t['target_beats_mean'] else 'not met'}**; "
            f"gap closed (fine-tuning -> raw) Acc {fmt(gap['acc'])}, F1@50 {fmt(gap['f1@50'])} "
            f"-> target **{'met' if t['target_half_gap'] else 'not met'}**")


def plot_setting(name: str, summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for arm, s in summary.items():
        label = f"{arm} ({_bytes(s['replay_bytes'])})"
        color = f"C{list(ARMS).index(arm) % 10}"  # one colour per arm in every panel
        for ax, key in zip(axes[:2], ("acc", "f1@50")):
            ys = s["curve"][key]
            ax.plot(range(1, len(ys) + 1), ys, marker="o", label=label, color=color)
        if s["replay_bytes"] > 0:
            axes[2].scatter([s["replay_bytes"] / 2**20], [s["final"]["f1@50"]], label=arm,
                            color=color)
            axes[2].annotate(arm, (s["replay_bytes"] / 2**20, s["final"]["f1@50"]),
                             textcoords="offset points", xytext=(4, 4), fontsize=8)
    if "finetune" in summary:
        axes[2].axhline(summary["finetune"]["final"]["f1@50"], ls="--", c="C0",
                        label="finetune (0 B)")
    for ax, key in zip(axes[:2], ("Acc", "F1@50")):
        ax.set_xlabel("tasks learned")
        ax.set_ylabel(f"{key} on the test videos of the tasks seen")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[2].set_xscale("log")
    axes[2].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[2].set_xlabel("replay storage (MiB, log)")
    axes[2].set_ylabel("F1@50 after the last task")
    axes[2].grid(True, which="both", alpha=0.3)
    fig.suptitle(f"{name}: incremental MS-TCN with replay")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def merge_results(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """One payload from several runs (config and machine of the first, every run's config
    under ``runs``): a setting in several files gets the folds of all of them, and a fold in
    several files the arms of all of them (a later file's arm replaces an earlier one of the
    same name and fold: rerun arms join the others' runs); summary and targets recomputed."""
    merged = dict(payloads[0], settings={})
    merged["runs"] = [p["config"] for p in payloads]
    merged.pop("seconds", None)
    for p in payloads:
        for name, entry in p.get("settings", {}).items():
            if name not in merged["settings"]:
                merged["settings"][name] = dict(entry, per_fold=dict(entry["per_fold"]))
                continue
            into = merged["settings"][name]
            for label, fold in entry["per_fold"].items():
                if label not in into["per_fold"]:
                    into["per_fold"][label] = fold
                    continue
                have = into["per_fold"][label]
                into["per_fold"][label] = dict(
                    have, arms={**have["arms"], **fold["arms"]},
                    errors={**have.get("errors", {}), **fold.get("errors", {})})
            into["folds"] = list(into["per_fold"])
    for entry in merged["settings"].values():
        arms = list(dict.fromkeys(a for f in entry["per_fold"].values() for a in f["arms"]))
        entry["summary"] = summarise(entry["per_fold"], arms)
        entry["targets"] = all_targets(entry["summary"])
    return merged


def _config_of_run(name: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """A setting's config from its run's (results written before settings kept their own)."""
    b = cfg.get("breakfast", {})
    m = cfg.get("mstcn", {})
    data = ("real gtea-tcn128 features, D = 128, every frame" if name == "gtea" else
            f"synthetic breakfast preset, D = {b.get('dim')}, {b.get('videos')} videos, every "
            f"{b.get('sample_rate', 1)}th frame")
    return {"epochs": cfg.get("epochs"), "seeds": cfg.get("seeds"), "recipe": cfg.get("recipe"),
            "archive_mode": cfg.get("archive_mode"), "data": data,
            "mstcn": [m.get("stages"), m.get("layers"), m.get("f_maps")]}


def report(payload: dict[str, Any], plots: Path) -> str:
    md = ["# Incremental action segmentation with replay (MS-TCN)", ""]
    if "machine" in payload:
        md += [machine_line(payload["machine"]), ""]
    for name, entry in payload["settings"].items():
        c = entry.get("config") or _config_of_run(name, payload["config"])
        md += [f"## {name} ({len(entry['folds'])} fold(s): {', '.join(entry['folds'])}; "
               f"{len(entry['tasks'])} tasks)", "",
               f"{c.get('data', '')}; MS-TCN (stages, layers, maps) {c.get('mstcn')}, "
               f"{c.get('epochs')} epochs per task, seeds {c.get('seeds')}, encode recipe "
               f"{c.get('recipe')!r}, archives {c.get('archive_mode')}", "",
               setting_table(entry["summary"]), "",
               *[targets_text(t) for t in entry["targets"].values()], "",
               *[paired_text(a, paired_differences(entry["per_fold"], a))
                 for a in MATCHED if a in entry["summary"]], ""]
        md += [f"{fold}: {arm} not run: {err}" for fold, rec in entry["per_fold"].items()
               for arm, err in rec.get("errors", {}).items()]
        md += [f"{fold}: {arm} over mean's bytes on task(s) "
               + ", ".join(f"{o['task'] + 1} ({a['bytes_per_task'][o['task']]} B, mean "
                           f"{o['mean_bytes']} B)" for o in a["over_budget"])
               + " (mean's bytes hold no decoder and two codes per segment: encoded at the "
                 "smallest budget rate control allows)"
               for fold, rec in entry["per_fold"].items()
               for arm, a in rec["arms"].items() if a.get("over_budget")]
        path = plots / f"incremental-{name}.png"
        plot_setting(name, entry["summary"], path)
        md += [f"plot: {path}", ""]
    if "seconds" in payload:
        md.append(f"total wall time {payload['seconds'] / 60:.1f} min")
    return "\n".join(md)


# -- main -------------------------------------------------------------------------------------

def setting_config(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """What a setting's figures were measured with (kept with them: settings may come from
    different runs)."""
    cfg: dict[str, Any] = {"epochs": args.epochs, "seeds": args.seed_list,
                           "recipe": args.recipe, "archive_mode": args.archive_mode,
                           "mstcn": [args.stages, args.layers, args.f_maps]}
    if name == "gtea":
        cfg["data"] = (f"real gtea-tcn128 features, D = 128, every "
                       f"{args.gtea_sample_rate}th frame" if args.gtea_sample_rate > 1 else
                       "real gtea-tcn128 features, D = 128, every frame")
        if args.gtea_roots:
            cfg["data"] = f"gtea-shaped folders {args.gtea_roots}"
    elif args.full:
        cfg["data"] = "synthetic breakfast preset, D = 2048, 1712 videos, every frame"
    else:
        cfg["data"] = (f"synthetic breakfast preset, D = {args.breakfast_dim}, "
                       f"{args.breakfast_videos} videos, every {args.breakfast_sample_rate}th "
                       f"frame")
    return cfg


def setting_folds(name: str, args: argparse.Namespace) -> list[tuple[str, Path, str]]:
    """(fold label, dataset root, split) per fold of a setting."""
    if name == "gtea":
        roots = [Path(r) for r in args.gtea_roots] if args.gtea_roots else [
            SHARED_DATA / f for f in GTEA_FOLDS]
        return [(f"fold{k}", roots[k - 1], "split1") for k in args.fold_list
                if k <= len(roots)]
    dim, videos = ((2048, None) if args.full else (args.breakfast_dim, args.breakfast_videos))
    root = resolve_dataset(f"synth:breakfast:{dim}" + (f":{videos}" if videos else ""),
                           args.out / "data")
    return [(f"fold{k}", root, f"split{k}") for k in args.fold_list]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="minutes: gtea fold 1, 2 epochs, seed 0, arms " + ",".join(QUICK_ARMS)
                   + ", the 'quick' encode recipe")
    p.add_argument("--full", action="store_true",
                   help="breakfast at the paper's size (D = 2048, 1712 videos)")
    p.add_argument("--settings", default=None, help="comma-separated of " + ",".join(SETTINGS)
                   + " (default both; quick gtea)")
    p.add_argument("--folds", default=None, help="comma-separated fold numbers 1-4 (default 1)")
    p.add_argument("--seeds", default=None, help="comma-separated (default 0)")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"MS-TCN epochs per task (default {DEFAULT_EPOCHS}; quick 2)")
    p.add_argument("--arms", default=None, help="comma-separated of " + ",".join(ARMS)
                   + " (default " + ",".join(DEFAULT_ARMS) + ")")
    p.add_argument("--archive-mode", choices=ARCHIVE_MODES, default="per-task")
    p.add_argument("--recipe", default=None, help="encode recipe (default cpu; quick quick)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--stages", type=int, default=4, help="MS-TCN stages")
    p.add_argument("--layers", type=int, default=10, help="MS-TCN layers per stage")
    p.add_argument("--f-maps", type=int, default=64, help="MS-TCN feature maps")
    p.add_argument("--breakfast-dim", type=int, default=256)
    p.add_argument("--breakfast-videos", type=int, default=40)
    p.add_argument("--gtea-sample-rate", type=int, default=1,
                   help="gtea: train and score on every n-th frame (default 1, every frame)")
    p.add_argument("--breakfast-sample-rate", type=int, default=4,
                   help="breakfast: train and score on every n-th frame (1 with --full)")
    p.add_argument("--gtea-roots", default=None,
                   help="comma-separated dataset folders of the gtea folds (default the four "
                        "gtea-tcn128* folders of ../shared/data)")
    p.add_argument("--out", type=Path, default=Path(DEFAULT_OUT))
    p.add_argument("--plots", type=Path, default=Path("benchmarks/plots"))
    p.add_argument("--replot", type=Path, nargs="+", default=None,
                   help="redraw the tables and plots of results files (settings merged: runs "
                        "of different settings in separate processes); nothing runs")
    args = p.parse_args(argv)
    q = args.quick
    args.epochs = args.epochs or (2 if q else DEFAULT_EPOCHS)
    args.seed_list = parse_list(args.seeds or "0", int)
    args.fold_list = parse_list(args.folds or "1", int)
    args.setting_list = parse_list(args.settings) if args.settings else (
        ["gtea"] if q else list(SETTINGS))
    args.arm_list = parse_list(args.arms) if args.arms else (QUICK_ARMS if q else DEFAULT_ARMS)
    args.gtea_roots = parse_list(args.gtea_roots) if args.gtea_roots else None
    args.recipe = args.recipe or ("quick" if q else "cpu")
    bad = [a for a in args.arm_list if a not in ARMS]
    if bad:
        p.error(f"--arms: unknown {bad}; choose from {list(ARMS)}")
    bad = [s for s in args.setting_list if s not in SETTINGS]
    if bad:
        p.error(f"--settings: unknown {bad}; choose from {list(SETTINGS)}")
    if any(not 1 <= k <= 4 for k in args.fold_list):
        p.error(f"--folds: fold numbers are 1 to 4, got {args.fold_list}")
    if args.epochs < 1:
        p.error(f"--epochs must be >= 1, got {args.epochs}")
    return args


def main(argv: list[str] | None = None) -> int:
    import json

    args = parse_args(argv)
    if args.replot is not None:
        payload = merge_results([json.loads(f.read_text()) for f in args.replot])
        text = report(payload, args.plots)
        print(text)
        if args.out != Path(DEFAULT_OUT):
            write_results(args.out, "incremental", payload, text)
        return 0
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    config = ModelConfig(args.epochs, args.stages, args.layers, args.f_maps)
    payload: dict[str, Any] = {
        "machine": machine(),
        "config": {"epochs": args.epochs, "seeds": args.seed_list, "folds": args.fold_list,
                   "arms": args.arm_list, "recipe": args.recipe, "quick": args.quick,
                   "full": args.full, "archive_mode": args.archive_mode,
                   "mstcn": {"stages": args.stages, "layers": args.layers,
                             "f_maps": args.f_maps, "lr": config.lr, "batch_size": 1},
                   "breakfast": {"dim": 2048 if args.full else args.breakfast_dim,
                                 "videos": None if args.full else args.breakfast_videos,
                                 "sample_rate": 1 if args.full else args.breakfast_sample_rate},
                   "argv": sys.argv[1:] if argv is None else list(argv)},
        "settings": {},
    }
    work = args.out / "archives"
    import shutil

    shutil.rmtree(work, ignore_errors=True)  # task folders and archives are this run's
    work.mkdir(parents=True)
    for name in args.setting_list:
        tasks, activity = ((GTEA_TASKS, gtea_activity) if name == "gtea"
                           else (BREAKFAST_TASKS, breakfast_activity))
        folds: dict[str, Any] = {}
        for label, root, fold in setting_folds(name, args):
            rate = (args.gtea_sample_rate if name == "gtea" else
                    1 if args.full else args.breakfast_sample_rate)
            split = split_tasks(f"{name}-{label}", root, fold, tasks, activity, rate)

            def keep(rec: dict[str, Any], label: str = label, root: Path = root,
                     fold: str = fold, name: str = name, tasks: Sequence[str] = tasks) -> None:
                """Write the results so far (after every seed of every fold), so a run
                stopped early keeps every seed it finished."""
                folds[label] = rec | {"root": str(root), "split": fold}
                summary = summarise(folds, args.arm_list)
                payload["settings"][name] = {"tasks": tasks, "folds": list(folds),
                                             "per_fold": folds, "summary": summary,
                                             "targets": all_targets(summary),
                                             "config": setting_config(name, args)}
                write_results(args.out, "incremental", payload, report(payload, args.plots))

            keep(run_fold(split, args.arm_list, args.seed_list, config, args, work, keep))
    payload["seconds"] = time.perf_counter() - started
    text = report(payload, args.plots)
    print(text)
    write_results(args.out, "incremental", payload, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
