"""benchmarks.gpu_bundle: the closure of what the GPU image lacks, computed from metadata, and
the one command line that installs it offline and runs the check (the download is ``slow``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.gpu_bundle import IMAGE_PACKAGES, command_line, plan_bundle


def test_command_line_installs_offline_and_runs_the_check():
    line = command_line("benchmarks/results/gpu_bundle")
    assert len(line) < 2000  # the device tool's limit on a command
    assert ("pip install -q --no-index --find-links benchmarks/results/gpu_bundle/wheels "
            "--no-deps") in line
    assert "$(cat benchmarks/results/gpu_bundle/REQUIREMENTS.txt)" in line
    assert 'python3 -m benchmarks.gpu_check --out "$OUT" --bundle benchmarks/results/gpu_bundle'\
        in line and line.endswith('| tee "$OUT"/gpu_check.log')
    assert "--steps decode " in command_line("b", check_args="--steps decode")
    # a shell reads it as one pipeline of commands joined by &&
    assert subprocess.run(["bash", "-n", "-c", line]).returncode == 0


def test_plan_follows_metadata_and_leaves_the_images_packages():
    metadata = {  # name -> (version, Requires-Dist), as wheels' METADATA gives them
        "zarr": ("3.1.6", ["donfig>=0.8", "google-crc32c>=1.5", "numpy>=2.0",
                           "typer; extra == 'cli'"]),
        "donfig": ("0.8.1", ["pyyaml", "sphinx>=4; extra == 'docs'"]),
        "google-crc32c": ("1.9.0", []),
        "numcodecs": ("0.16.6", ["numpy>=1.24", "typing_extensions",
                                 "crc32c>=2.7; extra == 'crc32c'"]),
        "crc32c": ("2.7.1", []),
        "colorama": ("0.4.6", []),
    }
    fetched = []

    def fetch(req):
        fetched.append(str(req))
        version, requires = metadata[req.name.lower()]
        return req.name, version, f"{req.name}-{version}.whl", requires

    roots = ["zarr>=3.1", "numcodecs[crc32c]>=0.13", "numpy>=1.24", "torch>=2.4",
             "colorama; platform_system == 'Windows'"]
    plan = plan_bundle(roots, IMAGE_PACKAGES, fetch)
    assert sorted(plan.wheels) == ["crc32c", "donfig", "google-crc32c", "numcodecs", "zarr"]
    assert plan.wheels["zarr"] == ("3.1.6", "zarr-3.1.6.whl")
    assert "typer" not in plan.wheels and "sphinx" not in plan.wheels  # extras not asked for
    assert "colorama" not in plan.wheels  # a Windows-only marker on a Linux device
    assert plan.image["numpy"] == [">=1.24 (for tascodec)", ">=2.0 (for zarr 3.1.6)",
                                   ">=1.24 (for numcodecs 0.16.6)"]
    assert set(plan.image) == {"numpy", "torch", "pyyaml", "typing-extensions"}
    assert len(fetched) == 5  # each wheel fetched once


@pytest.mark.slow
def test_the_bundle_builds_and_resolves_offline(tmp_path):
    out = tmp_path / "bundle"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.gpu_bundle", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    names = {w["name"] for w in manifest["wheels"]}
    assert {"zarr", "numcodecs", "google-crc32c", "donfig"} <= names
    assert not names & {"numpy", "torch", "pytest", "typing-extensions"}  # the image has them
    assert manifest["bytes"] < 64 << 20  # travels with the working tree
    assert (out / "COMMAND.txt").read_text().strip() == manifest["command"]
    # what the device's pip does: every pinned requirement found in the wheels alone
    check = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-index", "--find-links",
         str(out / "wheels"), "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
         "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
         "--platform", "manylinux2014_x86_64", "-d", str(tmp_path / "check"),
         *(out / "REQUIREMENTS.txt").read_text().split()], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-3000:]
