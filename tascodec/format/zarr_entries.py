"""The entries of a ``.tasz`` file built with zarr: what every version's writer shares.

``build_entries`` lays the Zarr v3 hierarchy out (in memory, or in a scratch directory beside
the destination for large archives) and hands back its entries with compact JSON documents;
``with_manifest`` adds the entry manifest (format >= 1.1) to the root document last;
``put_tables`` writes the segment table's arrays. The caller zips the entries in one pass
(``zip_write.write_zip_atomic``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..runtime.tempfiles import mkdtemp_beside
from .manifest import MANIFEST_KEY, build_manifest

__all__ = ["build_entries", "put_tables", "with_manifest", "TABLE_CHUNK_BYTES",
           "CODES_CHUNK_BYTES"]

CODES_CHUNK_BYTES = 1 << 20
TABLE_CHUNK_BYTES = 16 << 20
_IN_MEMORY_BYTES = 256 << 20  # build archives up to this payload in memory


def _rows(n: int, row_bytes: int, target: int) -> int:
    return max(1, min(n, target // max(row_bytes, 1)))


def put_tables(root: Any, put: Any, t: Any) -> None:
    """The groups ``segments`` and ``videos`` of segment table ``t`` (int64 arrays)."""
    i64 = lambda x: np.ascontiguousarray(x, dtype="<i8")  # noqa: E731
    seg, vid = root.create_group("segments"), root.create_group("videos")
    put(seg, "action", i64(t.seg_action), TABLE_CHUNK_BYTES)
    put(seg, "length", i64(t.seg_length), TABLE_CHUNK_BYTES)
    put(seg, "num_instances", i64(t.seg_num_instances), TABLE_CHUNK_BYTES)
    put(vid, "num_frames", i64(t.video_num_frames), TABLE_CHUNK_BYTES)
    put(vid, "first_segment", i64(t.video_first_segment), TABLE_CHUNK_BYTES)
    put(vid, "first_code", i64(t.video_first_code), TABLE_CHUNK_BYTES)


@contextlib.contextmanager
def build_entries(path: Path, header: dict[str, Any], payload: int, compression_level: int,
                  fill: Any, check: Any) -> Iterator[dict[str, Any]]:
    """The archive's entries (name -> callable giving the bytes; JSON documents compacted):
    the root group holds ``header``, ``fill(root, put)`` adds the arrays with
    ``put(group, name, data, target_chunk_bytes)``, ``check(stored_bytes)`` may refuse the
    result. Built in memory up to ``_IN_MEMORY_BYTES`` of ``payload``, else in a scratch
    directory beside ``path``, read lazily and removed when the ``with`` block ends."""
    import zarr  # lazy: zarr, the writer's alone (no read imports it)
    from zarr.codecs import BytesCodec, Crc32cCodec, ZstdCodec  # lazy: zarr, the writer's alone

    def put(group: Any, name: str, data: np.ndarray, target: int) -> None:
        row_bytes = data.itemsize * int(np.prod(data.shape[1:], dtype=np.int64))
        rows = _rows(data.shape[0], row_bytes, target)
        arr = group.create_array(
            name,
            shape=data.shape,
            chunks=(rows, *data.shape[1:]),
            dtype=data.dtype,
            serializer=BytesCodec(endian="little"),
            compressors=[ZstdCodec(level=compression_level, checksum=False), Crc32cCodec()],
            fill_value=0,
            config={"write_empty_chunks": True},
        )
        if data.size:
            arr[...] = data

    in_memory = payload <= _IN_MEMORY_BYTES
    with contextlib.ExitStack() as stack:
        # Small archives are built in memory (fast); large ones in a scratch directory beside
        # the destination (removed afterwards, whatever happens).
        mem: dict[str, Any] = {}
        tmp = "" if in_memory else _scratch_dir(stack, path)
        store = (
            zarr.storage.MemoryStore(store_dict=mem) if in_memory else zarr.storage.LocalStore(tmp)
        )
        root = zarr.open_group(store, mode="w", zarr_format=3)
        root.attrs["tascodec"] = header
        fill(root, put)
        if in_memory:
            entries = {k: (lambda b=b: b.to_bytes()) for k, b in mem.items()}
        else:
            base = Path(tmp)
            entries = {
                p.relative_to(base).as_posix(): (lambda p=p: p.read_bytes())
                for p in base.rglob("*")
                if p.is_file()
            }
        for key in [k for k in entries if k.split("/")[-1] == "zarr.json"]:
            entries[key] = lambda raw=entries[key]: _compact_json(raw())
        stored = (
            sum(len(b) for b in mem.values())
            if in_memory
            else sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        )
        check(stored)
        yield entries


def _scratch_dir(stack: contextlib.ExitStack, path: Path) -> str:
    """A scratch directory beside ``path`` (``tempfiles`` naming), removed when ``stack`` ends."""
    scratch = mkdtemp_beside(path)
    stack.callback(shutil.rmtree, scratch, ignore_errors=True)
    return str(scratch)


def with_manifest(entries: dict[str, Any]) -> dict[str, Any]:
    """``entries`` with the root ``zarr.json`` holding the manifest of every other entry."""
    manifest = build_manifest((k, f()) for k, f in entries.items() if k != "zarr.json")
    root = json.loads(entries["zarr.json"]())
    root["attributes"][MANIFEST_KEY] = manifest
    data = json.dumps(root, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return {**entries, "zarr.json": lambda b=data.encode("utf-8"): b}


def _compact_json(raw: bytes) -> bytes:
    # zarr indents its JSON; the compact form is the same metadata in half the bytes.
    return json.dumps(
        json.loads(raw), separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
