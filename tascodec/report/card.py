"""A Hugging Face dataset card (``README.md``) for a ``.tasz`` archive (``tascodec card``).

``dataset_card(archive, results)`` returns the card's text: YAML front matter (``license``
left for the user to fill in, ``task_categories``, ``size_categories``, ``tags``,
``pretty_name``), then the body: what the archive was made from (source dataset and split,
videos, classes, D, frames), how (codec and its settings), its sizes and ratio (the factor:
53.1 = 53.1 times smaller than the float32 features), reconstruction error, format version
and fingerprint (``Archive.identity``), three lines of Python that load it, and the fidelity
table of every ``tascodec eval --json`` result given, with the % of the original each metric
keeps when the result holds the original's scores. A result measured on another archive (its
``archive_fingerprint`` differs) is refused: the table only ever describes this file.

NumPy only (no torch): the archive is read through ``tascodec.open`` (a path or a URL).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..encoding.summary import short_config
from ..errors import TascodecError
from ..format import open_archive
from ..harness.fidelity_result import METRIC_KEYS, FidelityResult
from ..runtime.tempfiles import write_beside
from ..units import format_bytes
from .info import info_dict

__all__ = ["dataset_card", "write_card", "load_results", "size_category"]

_NAMES = {"acc": "Acc", "edit": "Edit", "f1@10": "F1@10", "f1@25": "F1@25", "f1@50": "F1@50"}
#: the hub's size categories, by number of videos (the archive's examples)
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
          (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"))


def size_category(n: int) -> str:
    """The hub's ``size_categories`` value for ``n`` examples."""
    for bound, name in _SIZES:
        if n < bound:
            return name
    return "n>10M"


def load_results(paths: Sequence[str | os.PathLike[str]]) -> list[FidelityResult]:
    """The results in ``tascodec eval --json`` files ``paths`` (each a clear error if not)."""
    out = []
    for path in paths:
        where = f"--eval {path}"
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise TascodecError(f"{where}: cannot read: {exc.strerror}") from None
        except ValueError as exc:
            raise TascodecError(f"{where}: not JSON ({exc})") from None
        out.append(FidelityResult.from_dict(data, where))
    return out


def _check_results(archive: Any, results: Sequence[FidelityResult], wheres: Sequence[str]) -> None:
    for r, where in zip(results, wheres):
        if r.archive_fingerprint is None:
            raise TascodecError(
                f"{where}: a result of the original features, not of an archive (give it to "
                "'tascodec eval ARCHIVE --original' to have kept percentages)")
        if r.archive_fingerprint != archive.identity:
            raise TascodecError(
                f"{where}: measured on another archive ({r.name}, fingerprint "
                f"{r.archive_fingerprint}), not on {archive.path} (fingerprint "
                f"{archive.identity}): a card shows only results of the archive it describes")


def _cell(r: FidelityResult, k: str) -> str:
    text = f"{r.mean[k]:.1f}" + (f" ± {r.std[k]:.1f}" if len(r.seeds) > 1 else "")
    kept = r.kept
    return text + (f" ({kept[k]:.1f}%)" if kept else "")


def _fidelity(results: Sequence[FidelityResult]) -> list[str]:
    if not results:
        return ["No fidelity measured yet: `tascodec eval ARCHIVE --dataset DIR "
                "--with-original --json > eval.json`, then `tascodec card ARCHIVE --eval "
                "eval.json`.", ""]
    lines = [
        "Segmentation models trained on the decoded archive, scored on the original test "
        "split of each fold (mean ± std over seeds; in brackets the % of the same model "
        "trained on the original features with the same seeds and epochs):", "",
        "| fold | backbone | epochs | seeds | convention | "
        + " | ".join(_NAMES[k] for k in METRIC_KEYS) + " | original " + "/".join(
            _NAMES[k] for k in METRIC_KEYS) + " |",
        "|" + "---|" * (6 + len(METRIC_KEYS)),
    ]
    for r in results:
        base = ("/".join(f"{r.original['mean'][k]:.1f}" for k in METRIC_KEYS)
                if r.original else "not measured")
        lines.append(f"| {r.split} | {r.backbone} | {r.epochs} | "
                     f"{', '.join(map(str, r.seeds))} | {r.convention} | "
                     + " | ".join(_cell(r, k) for k in METRIC_KEYS) + f" | {base} |")
    kept = [r.kept for r in results if r.kept]
    if len(kept) > 1:
        mean = {k: sum(x[k] for x in kept) / len(kept) for k in METRIC_KEYS}
        lines += ["", f"Kept, mean over the {len(kept)} results: " + ", ".join(
            f"{_NAMES[k]} {mean[k]:.1f}%" for k in METRIC_KEYS) + "."]
    lines += ["", "Each result was measured on this very file: its `archive_fingerprint` "
              "equals the fingerprint above (`tascodec card` refuses any other)."]
    return lines + [""]


def dataset_card(archive: Any, results: Sequence[FidelityResult] = (), *,
                 name: str | None = None, repo: str | None = None,
                 wheres: Sequence[str] | None = None) -> str:
    """The dataset card of ``archive`` (an opened ``Archive``, a path or a URL) with the
    fidelity ``results`` (``FidelityResult``; each must name this archive's fingerprint).

    ``name``: the source dataset's name (default: the results' ``dataset`` when they agree);
    ``repo``: the hub repository (``owner/name``) the card's loading lines use.
    """

    if not hasattr(archive, "identity"):
        with open_archive(archive) as opened:
            return dataset_card(opened, results, name=name, repo=repo, wheres=wheres)
    wheres = list(wheres) if wheres is not None else [f"result {i}" for i in
                                                      range(len(results))]
    _check_results(archive, results, wheres)
    info = info_dict(archive)
    stats = archive.stats
    if name is None:
        names = {r.dataset for r in results}
        name = names.pop() if len(names) == 1 else None
    file = Path(str(archive.path).rstrip("/")).name or "archive.tasz"
    repo = repo or "<owner>/<repo>"
    url = f"hf://datasets/{repo}/{file}"
    split = stats.get("split") or "every video (the whole dataset)"
    codec = f"{info['codec']} {short_config(info['codec_config'])}".strip()
    ratio = info.get("ratio")
    errors = ", ".join(f"{k} {v:.4g}" for k, v in info.get("fidelity", {}).items()) or "-"
    title = f"{name} condensed with tascodec" if name else f"{file}: a tascodec archive"
    rows = [
        ("source dataset", name or "not recorded (tascodec card --name NAME)"),
        ("split condensed", split),
        ("videos", f"{info['videos']} ({', '.join(f'{k}: {n}' for k, n in info['splits'].items())})"),
        ("classes", f"{len(info['classes'])}: {', '.join(info['classes'][:20])}"
                    + (", ..." if len(info["classes"]) > 20 else "")),
        ("feature width D", str(info["feature_dim"])),
        ("frames", f"{info['frames']:,}"),
        ("codec", f"{codec} (every setting: below)"),
        ("size", f"{format_bytes(info['storage_bytes'])} ({info['storage_bytes']:,} bytes); "
                 f"the features as float32: {format_bytes(info['original_bytes'])}"),
        ("ratio", "-" if ratio is None else f"{ratio:.1f} (times smaller than float32)"),
        ("reconstruction error", errors),
        ("format", f"tascodec {info['format_version']} (written by tascodec "
                   f"{info.get('library_version', archive.library_version)})"),
        ("fingerprint", f"`{archive.identity}`"),
    ]
    front = [
        "---",
        "# license: the license of the source features applies; replace 'unknown' with its id",
        "license: unknown",
        f"pretty_name: {json.dumps(title)}",
        "task_categories:",
        "- video-classification",
        "size_categories:",
        f"- {size_category(info['videos'])}",
        "tags:",
        "- temporal-action-segmentation",
        "- video-features",
        "- dataset-condensation",
        "- tascodec",
        f"- {info['codec']}",
        "---",
        "",
    ]
    body = [
        f"# {title}", "",
        f"Frame features of {name or 'a temporal action segmentation dataset'} condensed into "
        f"one `.tasz` archive by [tascodec](https://pypi.org/project/tascodec/): it decodes, "
        "lazily and per video, back to full-resolution (D, T) float32 features and labels "
        "that train segmentation models in place of the original.", "",
        "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), "",
        "## Load it", "",
        "```python",
        "import tascodec",
        f'archive = tascodec.open("{url}")  # a few range requests; pip install "tascodec[remote]"',
        "features = archive.features(archive.videos[0])  # (D, T) float32, labels: archive.labels(...)",
        "```", "",
        f'Training: `tascodec.TaszDataset("{url}", split="train")` (a torch Dataset, '
        '`pip install "tascodec[torch,remote]"`); `tascodec export` writes the standard '
        "layout (`features/*.npy`, `groundTruth/`, `splits/`, `mapping.txt`).", "",
        "## Fidelity", "", *_fidelity(results),
        "## Check the file", "",
        "```bash",
        f"tascodec verify {url}   # every checksum of every entry",
        f"tascodec info {url}     # the facts above",
        "```", "",
        f"The fingerprint is `tascodec.open(...).identity`: the digest of the archive's root "
        "document" + (", whose manifest holds a digest of every entry (format 1.1 and later)"
                      if archive.header.get("format_version") != "1.0" else "") + ".", "",
        "## How it was made", "",
        "```json", json.dumps({"codec_config": info["codec_config"],
                               "stats": {k: v for k, v in sorted(stats.items())
                                         if isinstance(v, (int, float, str, bool))
                                         and not k.endswith("_seconds")}}, indent=2), "```", "",
    ]
    return "\n".join(front + body)


def write_card(archive: Any, output: str | os.PathLike[str],
               results: Sequence[str | os.PathLike[str] | FidelityResult] = (), *,
               name: str | None = None, repo: str | None = None,
               overwrite: bool = False) -> Path:
    """Write ``archive``'s card to ``output`` (``results``: ``FidelityResult`` objects or
    ``tascodec eval --json`` files); ``OutputExistsError`` if it exists, unless ``overwrite``."""

    loaded, wheres = [], []
    for r in results:
        if isinstance(r, FidelityResult):
            loaded.append(r)
            wheres.append(f"result {r.name}")
        else:
            loaded += load_results([r])
            wheres.append(f"--eval {r}")
    text = dataset_card(archive, loaded, name=name, repo=repo, wheres=wheres)
    return write_beside(Path(output), lambda fh: fh.write(text.encode("utf-8")),
                        overwrite=overwrite)
