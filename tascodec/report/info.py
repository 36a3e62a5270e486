"""What ``tascodec info`` says about an archive: :func:`info_dict` (the facts, JSON-ready: format,
codec, classes, videos, splits, frames, codes, sizes by part, the ratio to the float32 original,
the fidelity figures the encoder recorded) and :func:`format_info` (its lines for people).

The library owns these figures, not the CLI: ``tascodec info``, the dataset card
(``report.card``) and the plot's caption (``plots.write``) all read them from here.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..encoding.summary import FIDELITY_NOTES, short_config
from ..units import format_bytes

__all__ = ["info_dict", "format_info"]

# stats keys shown as fidelity figures when present (any key containing "mse" is shown too,
# but timings such as "mse_seconds"), the relative error first
_FIDELITY_KEYS = ("relative_mse", "reconstruction_mse", "reconstruction_rmse", "snr_db")


def _finite_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) < 2**63
    )


def info_dict(archive: Any) -> dict[str, Any]:
    """The facts ``info`` prints, as JSON-ready values."""
    t = archive.table
    sizes = archive.sizes()
    stats = archive.stats
    # One ratio everywhere: float32 bytes of the split the archive condenses (encode, eval and
    # bench_rate say the same); older archives without that figure fall back to what they hold.
    source, source_note = stats.get("split_bytes_float32"), "the split's videos as float32"
    if not _finite_number(source) or source <= 0:
        source, source_note = stats.get("source_bytes_float32"), "stats.source_bytes_float32"
    if not _finite_number(source) or source <= 0:  # a header may hold 1e999 or NaN
        frames = int(t.video_num_frames.sum())
        source = frames * archive.feature_dim * 4  # the stored videos as float32 (D, T)
        source_note = "stored videos as float32"
    fidelity = {
        k: stats[k]
        for k in [*_FIDELITY_KEYS, *sorted(stats)]
        if k in stats and (k in _FIDELITY_KEYS or "mse" in k.lower())
        and not k.endswith("_seconds") and _finite_number(stats[k])
    }
    return {
        "path": str(archive.path),
        "format_version": archive.format_version,
        "library_version": archive.library_version,
        "codec": archive.codec,
        "codec_config": archive.codec_config,
        "decode_kind": archive.decode_kind,
        "classes": archive.class_names,
        "videos": len(archive.videos),
        "splits": {k: len(v) for k, v in archive.splits.items()},
        "frames": int(t.video_num_frames.sum()),
        "segments": int(t.seg_action.shape[0]),
        "codes": int(archive.num_codes),
        "code_dim": archive.code_dim,
        "code_dtype": archive.code_dtype or "generated",
        "feature_dim": archive.feature_dim,
        "decoder": (archive.header.get("decoder") or {}).get("arch"),
        "decoder_dtype": ((archive.header.get("decoder") or {}).get("dtype", "float32")
                          if archive.header.get("decoder") else None),
        "groups": [g.as_dict() for g in archive.groups],
        "sizes": sizes,
        "storage_bytes": int(sizes["total"]),
        "original_bytes": int(source),
        "original_basis": source_note,
        "ratio": (source / sizes["total"]) if sizes["total"] else None,
        # the target ratio a plain encode could not meet (the smallest archive was written)
        "target_missed": (stats.get("target_ratio") if (stats.get("operating_point") or {})
                          .get("budget_raised") else None),
        "fidelity": fidelity,
    }


def format_info(info: dict[str, Any]) -> str:
    """Human-readable lines of :func:`info_dict`'s result."""
    s = info["sizes"]
    classes = info["classes"]
    shown = ", ".join(classes[:12]) + (
        f", ... ({len(classes)} in all)" if len(classes) > 12 else ""
    )
    splits = ", ".join(f"{k} ({n})" for k, n in info["splits"].items()) or "none"
    lines = [
        f"archive         {info['path']}",
        f"format          tascodec {info['format_version']}"
        f" (written by tascodec {info['library_version']})" + (
            "\n                note: 1.0 has no entry manifest: a file rewritten or replaced "
            "while read can mix entries\n                silently (spec 9.1); `tascodec verify "
            "--upgrade` rewrites it as the current version"
            if info["format_version"] == "1.0" else ""),
        f"codec           {info['codec']} {short_config(info['codec_config'])}",
        f"decode kind     {info['decode_kind']}",
        f"classes         {len(classes)}: {shown}",
        f"videos          {info['videos']}",
        f"splits          {splits}",
        f"frames          {info['frames']}",
        f"segments        {info['segments']}",
        f"codes           {_codes(info)}; feature dim {info['feature_dim']}",
    ]
    if info["decoder"]:
        lines.append(f"decoder         {json.dumps(info['decoder'], sort_keys=True)} "
                     f"({info['decoder_dtype']})")
    if len(info["groups"]) > 1:
        for g in info["groups"]:
            lines.append(f"group {g['group']:<9} {g['videos']} videos, {g['codec']}, "
                         f"{g['codes']} codes x {g['code_dim']} ({g['code_dtype']}), "
                         f"decoder {g['decoder']} ({g['classes']} classes)")
    lines.append(
        "size            "
        + ", ".join(
            f"{part} {format_bytes(s[part], 1)}"
            for part in ("codes", "tables", "decoder", "overhead", "total")
        )
    )
    ratio = info["ratio"]
    lines.append(
        f"original        {format_bytes(info['original_bytes'], 1)} "
        f"({info['original_basis']})"
        + (f"; ratio {ratio:.1f}x" if ratio else "")
        + (f" (the target of {info['target_missed']:g}x could not be met: the smallest archive "
           f"rate control makes)" if info.get("target_missed") else "")
    )
    for key, value in info["fidelity"].items():
        note = FIDELITY_NOTES.get(key)
        lines.append(f"{key:<15} {value:.6g}" + (f" ({note})" if note else ""))
    return "\n".join(lines)


def _codes(info: dict[str, Any]) -> str:
    """``626 x 16 (int8)``, or per group when their widths or dtypes differ:
    ``626: 256 x 16 (int8) in group 0, 370 x 8 (int8) in group 1``."""
    groups = info["groups"]
    if len({(g["code_dim"], g["code_dtype"]) for g in groups}) < 2:
        return f"{info['codes']} x {info['code_dim']} ({info['code_dtype']})"
    return f"{info['codes']}: " + ", ".join(
        f"{g['codes']} x {g['code_dim']} ({g['code_dtype']}) in group {g['group']}"
        for g in groups)
