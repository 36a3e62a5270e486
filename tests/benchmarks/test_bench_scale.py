"""benchmarks/bench_scale.py: the measuring child process and the table of ratios."""

from __future__ import annotations

import sys

import pytest

from benchmarks import bench_scale


def test_measure_reports_the_commands_peak_memory():
    got = bench_scale.measure([sys.executable, "-c", "x = bytearray(80_000_000); x[::4096] = b'1' * len(x[::4096])"])
    assert got["peak_rss_bytes"] >= 80_000_000 and got["wall_s"] > 0


def test_measure_tells_heap_from_mapped_file_pages(tmp_path):
    """A command holding 80 MB of heap and 60 MB of a memory-mapped file, long enough to be
    sampled: the anonymous and the file-backed peaks each see their own part."""
    data = tmp_path / "f.bin"
    data.write_bytes(b"\1" * 60_000_000)
    code = ("import mmap, time\n"
            "x = bytearray(80_000_000); x[::4096] = b'1' * len(x[::4096])\n"
            f"f = open({str(data)!r}, 'rb'); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)\n"
            "s = sum(m[i] for i in range(0, len(m), 4096))\n"
            "time.sleep(1.5)\n")
    got = bench_scale.measure([sys.executable, "-c", code])
    assert got["peak_rss_anon_bytes"] >= 75_000_000
    assert 55_000_000 <= got["peak_rss_file_bytes"]
    assert got["peak_rss_anon_bytes"] < 75_000_000 + 55_000_000  # the mapping is not heap


def test_measure_names_a_failing_command():
    with pytest.raises(RuntimeError, match="failed"):
        bench_scale.measure([sys.executable, "-c", "import sys; sys.exit(3)"])


def test_table_gives_per_frame_ratios_and_speedups():
    def row(frames, wall, codes1, codes2):
        enc = {"wall_s": wall, "train_s": 1.0, "codes_s": codes1, "mse_s": 0.1,
               "peak_rss_bytes": 2**30, "read_bytes": 0}
        return {"fraction": frames / 1000, "videos": 8, "dataset_frames": frames,
                "dataset_bytes": frames * 8192, "synth": {"wall_s": 1.0},
                "encode_n1": enc, "encode_n2": {**enc, "codes_s": codes2, "wall_s": wall / 2},
                "export": {"wall_s": 1.0, "peak_rss_bytes": 2**29}}
    table = bench_scale._table([row(1000, 10.0, 8.0, 4.0), row(2000, 24.0, 16.0, 10.0)], [1, 2])
    lines = table.splitlines()
    assert "per-frame x" in lines[0] and "codes speed-up (2 procs)" in lines[0]
    assert "| 1.20 |" in lines[3] and "| 1.60 |" in lines[3] and "| 2.00 |" in lines[2]



def test_load_phase_reads_every_frame_of_the_archive(capsys):
    import json

    import tascodec

    golden = bench_scale.REPO / "tests" / "data" / "v2" / "merged.tasz"
    assert bench_scale._load_main(str(golden), 0) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    with tascodec.open(golden) as archive:
        frames = sum(archive.num_frames(v) for v in archive.videos)
        assert got == {"frames": frames, "videos": len(archive.videos)}
