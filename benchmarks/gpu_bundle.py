"""A device bundle: the wheels a GPU image lacks, and the one command that installs them offline
and runs ``benchmarks.gpu_check`` there.

    python -m benchmarks.gpu_bundle DIR [--python-version 3.12] [--image-has FILE]

The GPU machines (an image with torch, numpy, pytest, hypothesis, ...) reach no package index,
and their image has no zarr, numcodecs, google-crc32c or donfig: every encode, every archive
read and the gpu tests' fixtures fail there. This computes what to carry from metadata, not
from a hand-kept list of versions:

1. the roots: tascodec's own requirements (``importlib.metadata``), with the ``torch`` and
   ``test`` extras (what ``gpu_check`` and its pytest step import);
2. a requirement whose name the image has (``IMAGE_PACKAGES``, or ``--image-has FILE``: one
   name per line, ``pip freeze`` lines read as names) is left to the image and recorded with
   its version specifier (``gpu_check --bundle DIR`` checks them there);
3. any other is downloaded (``pip download --no-deps --only-binary=:all:`` for the device's
   Python and ``manylinux`` x86-64: ``TARGET``), pinned to the version installed here when it
   satisfies the requirement (what this checkout's tests pass with), and the requirements in
   its wheel's ``METADATA`` (markers evaluated for the device) are followed in turn.

DIR gets ``wheels/*.whl``, ``manifest.json`` (the wheels with size and sha256, the image's
requirements, the target, the command) and ``COMMAND.txt``: one line (``command_line``, well
under the device tool's 2,000 characters) run from the repository root on the device that
installs the wheels with ``pip install --no-index --find-links`` into a directory of their own
and runs ``python3 -m benchmarks.gpu_check --out "$OUT"`` (JSON + Markdown after every step,
and the log, under ``$OUT``). Keep DIR inside the checkout in an ignored folder
(``benchmarks/results/gpu_bundle``) and name it in the device call's ``carry``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["IMAGE_PACKAGES", "TARGET", "Bundle", "build_bundle", "command_line", "plan_bundle",
           "wheel_requirements", "main"]

#: the device's Python and platform tags (the GPU image: CPython 3.12 on x86-64 Linux)
TARGET = {"python_version": "3.12", "implementation": "cp",
          "platforms": ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                        "manylinux2014_x86_64", "manylinux1_x86_64", "linux_x86_64"]}

#: packages of the GPU machines' image ('cuda', names as listed on 2026-11-17); a name here is
#: left to the image, its version checked on the device (``gpu_check --bundle``)
IMAGE_PACKAGES = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs
botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy
coverage cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython
diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools formulaic
frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize
hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin
jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities
linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl
meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind
narwhals networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti
nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile
nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py
nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir
onnxruntime onnxscript opencv-python-headless opt-einsum opt-einsum-fx optax optimistix
orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil py-cpuinfo pyarrow pybind11 pygments
pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock
pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich
sacrebleu safetensors scikit-build-core scikit-image scikit-learn scipy seaborn
sentence-transformers sentencepiece setuptools shellingham simplejson six
sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server
tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch torch-geometric
torchaudio torchdiffeq torchmetrics torchvision tqdm transformers treescope triton typer
typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray
xxhash yarl zipp
""".split())

#: where the wheels go on the device (a folder of their own, first on PYTHONPATH)
SITE = "/tmp/tascodec-site"
#: tascodec's extras that gpu_check needs beside its base requirements
EXTRAS = ("torch", "test")


def canonical(name: str) -> str:
    """PEP 503 normalised name (``Typing_Extensions`` -> ``typing-extensions``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _environment(target: dict[str, Any]) -> dict[str, str]:
    """Marker environment of the device."""
    return {"python_version": target["python_version"],
            "python_full_version": target["python_version"] + ".0",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
            "platform_machine": "x86_64", "extra": ""}


def wheel_requirements(wheel: Path) -> tuple[str, str, list[str]]:
    """``(name, version, Requires-Dist lines)`` read from a wheel's ``METADATA``."""
    with zipfile.ZipFile(wheel) as z:
        path = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(path).decode("utf-8")
    meta: dict[str, list[str]] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(": ")
        meta.setdefault(key, []).append(value.strip())
    return meta["Name"][0], meta["Version"][0], meta.get("Requires-Dist", [])


@dataclass
class Bundle:
    """What a bundle holds: ``wheels`` (name -> version, file), ``image`` (name -> the
    specifiers the bundle's packages ask of the image's copy, and who asks)."""

    wheels: dict[str, tuple[str, str]] = field(default_factory=dict)
    image: dict[str, list[str]] = field(default_factory=dict)


def plan_bundle(roots: Iterable[str], image_has: Iterable[str],
                fetch: Callable[[Any], tuple[str, str, str, list[str]]],
                target: dict[str, Any] = TARGET) -> Bundle:
    """The closure of ``roots`` (requirement strings) that the image lacks.

    ``fetch(requirement)`` downloads one distribution for a ``packaging`` ``Requirement`` and
    returns ``(name, version, file name, its Requires-Dist lines)``. A requirement whose
    marker is false on the device is skipped; extras of a fetched requirement are followed.
    """
    from packaging.requirements import Requirement

    env = _environment(target)
    have = {canonical(n) for n in image_has}
    out = Bundle()
    queue = [(Requirement(r), "tascodec") for r in roots]
    while queue:
        req, by = queue.pop(0)
        extras = tuple(req.extras)
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonical(req.name)
        if name in have:
            out.image.setdefault(name, [])
            entry = f"{req.specifier or 'any'} (for {by})"
            if entry not in out.image[name]:
                out.image[name].append(entry)
            continue
        if name in out.wheels:
            continue
        dist, version, filename, requires = fetch(req)
        out.wheels[name] = (version, filename)
        for line in requires:
            dep = Requirement(line)
            wanted = dep.marker is None or any(
                dep.marker.evaluate({**env, "extra": e}) for e in ("", *extras))
            if wanted:
                dep.marker = None
                queue.append((dep, f"{dist} {version}"))
    return out


def _pinned(req: Any) -> str:
    """``name==version`` of the copy installed here when it satisfies ``req``, else ``req``."""
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        return str(req)
    return f"{req.name}=={version}" if req.specifier.contains(version, prereleases=True) else str(req)


def pip_fetcher(dest: Path, target: dict[str, Any] = TARGET
                ) -> Callable[[Any], tuple[str, str, str, list[str]]]:
    """``fetch`` for ``plan_bundle``: ``pip download --no-deps`` of one wheel into ``dest``."""
    def fetch(req: Any) -> tuple[str, str, str, list[str]]:
        before = set(dest.glob("*.whl"))
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
               "--only-binary=:all:", "--python-version", target["python_version"],
               "--implementation", target["implementation"], "-d", str(dest)]
        for platform in target["platforms"]:
            cmd += ["--platform", platform]
        subprocess.run(cmd + [_pinned(req)], check=True)
        new = sorted(set(dest.glob("*.whl")) - before) or sorted(
            w for w in dest.glob("*.whl") if canonical(w.name.split("-")[0]) == canonical(req.name))
        if not new:
            raise SystemExit(f"pip download of {req} gave no wheel in {dest}")
        name, version, requires = wheel_requirements(new[0])
        return name, version, new[0].name, requires
    return fetch


def command_line(bundle: str, out: str = '"$OUT"', check_args: str = "") -> str:
    """The one line run from the repository root on the device: install the bundle's wheels
    offline (``--no-index --find-links``, ``--no-deps``: the image's own packages are used as
    they are) into ``SITE``, then run the check, its JSON, Markdown and log under ``out``."""
    root = bundle.rstrip("/")
    install = (f"python3 -m pip install -q --no-index --find-links {root}/wheels --no-deps "
               f"--no-compile --no-cache-dir --target {SITE} $(cat {root}/REQUIREMENTS.txt)")
    check = " ".join(part for part in ("python3 -m benchmarks.gpu_check --out", out,
                                       "--bundle", root, check_args) if part)
    return (f"set -o pipefail; {install} && export PYTHONPATH={SITE}:$PWD PYTHONUNBUFFERED=1 "
            f"&& {check} 2>&1 | tee {out}/gpu_check.log")


def _roots() -> list[str]:
    """tascodec's requirements with ``EXTRAS`` (its own extras resolved, itself left out)."""
    out: list[str] = []
    from packaging.requirements import Requirement

    for line in metadata.requires("tascodec") or []:
        req = Requirement(line)
        marker = str(req.marker) if req.marker else ""
        if marker and not any(f'extra == "{e}"' in marker for e in EXTRAS):
            continue
        if canonical(req.name) == "tascodec":
            continue
        req.marker = None
        out.append(str(req))
    return sorted(set(out))


def build_bundle(directory: Path, image_has: Iterable[str] = IMAGE_PACKAGES,
                 fetch: Callable[[Any], tuple[str, str, str, list[str]]] | None = None
                 ) -> dict[str, Any]:
    """Download the wheels into ``directory/wheels``; write ``manifest.json``,
    ``REQUIREMENTS.txt`` and ``COMMAND.txt``; returns the manifest."""
    wheels_dir = directory / "wheels"
    wheels_dir.mkdir(parents=True, exist_ok=True)
    plan = plan_bundle(_roots(), image_has, fetch or pip_fetcher(wheels_dir))
    files = []
    for name, (version, filename) in sorted(plan.wheels.items()):
        data = (wheels_dir / filename).read_bytes()
        files.append({"name": name, "version": version, "file": filename, "bytes": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()})
    rel = directory.resolve()
    try:
        rel = rel.relative_to(Path.cwd().resolve())
    except ValueError:
        pass
    command = command_line(str(rel))
    manifest = {"target": TARGET, "wheels": files, "image_requirements": plan.image,
                "bytes": sum(f["bytes"] for f in files), "command": command}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (directory / "REQUIREMENTS.txt").write_text(
        " ".join(f"{f['name']}=={f['version']}" for f in files) + "\n")
    (directory / "COMMAND.txt").write_text(command + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("directory", type=Path)
    p.add_argument("--python-version", default=TARGET["python_version"])
    p.add_argument("--image-has", type=Path, default=None,
                   help="names the image has, one a line (pip freeze output works)")
    args = p.parse_args(argv)
    TARGET["python_version"] = args.python_version
    image = IMAGE_PACKAGES
    if args.image_has is not None:
        image = frozenset(re.split(r"[=<>~! \[;]", line.strip(), maxsplit=1)[0]
                          for line in args.image_has.read_text().splitlines() if line.strip())
    manifest = build_bundle(args.directory, image)
    for f in manifest["wheels"]:
        print(f"{f['file']}  {f['bytes'] / 2**20:.2f} MiB")
    print(f"{len(manifest['wheels'])} wheels, {manifest['bytes'] / 2**20:.1f} MiB; the image "
          f"must hold: " + ", ".join(f"{n} {' '.join(s)}"
                                     for n, s in sorted(manifest['image_requirements'].items())))
    print(f"on the device, from the repository root ({len(manifest['command'])} characters):")
    print(manifest["command"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
