"""Named settings for TCA training and network inversion.

* ``"cpu"`` (default): a TCA and an inversion that finish on a laptop-class CPU in minutes for
  a GTEA-sized dataset: at most 30 passes over the training frames, stopped once the held-out
  reconstruction (5% of the frames, in 16-frame blocks) has not improved for 3 passes, the best
  pass kept, so training is as long as it pays for at any dataset size; warm-started Adam with
  a large step (0.05), per-instance plateau stopping (tol 1e-3, two step cuts), at most 200
  iterations and 16 frames per instance, the L2 error taken in the normalised feature space
  (every channel relative to its own spread).
* ``"paper"``: the paper's recipe (7.5K epochs at lr 1e-3; 10K Adam iterations at lr 1e-3, no
  stopping, L2 in original units). The paper starts from random codes: use it with
  ``init="random"`` (the init is a codec parameter, not a recipe field). Meant for a GPU. It
  trains on every training frame where they fit the device (``memory_budget=None``:
  ``tca.frames.fitting_budget``, half the free memory of the device and of the host), and
  warns when they do not and it trains on a uniform sample.
* ``"gpu"``: the ``cpu`` recipe sized for a GPU: 32,768-frame inversion chunks, batches of
  1,024 frames, and the training frames cached on the device up to 8 GiB
  (``memory_budget``). ``recipe="auto"`` (what ``encode`` and the CLI default to) is ``gpu``
  on a CUDA device and ``cpu`` elsewhere (``recipe_for_device``).
* ``"quick"``: tiny settings for tests and smoke runs.

The model size defaults to ``auto_model_dims`` with a fixed K (the paper's d = 256, H = 512 at
D = 2048 and proportionally smaller for narrower features: d = 16, H = 256 at D = 128); a
budgeted encode (``k="auto"``) takes d from the data and H from the budget
(``tascodec.rate``) unless the recipe fixes them.

Fields prefixed ``invert_`` are keywords of ``tascodec.tca.invert.invert`` without the prefix;
the others are keywords of ``tascodec.tca.train.train_tca``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from difflib import get_close_matches
from typing import Any

from ..errors import TascodecError

__all__ = ["RECIPES", "Recipe", "auto_model_dims", "get_recipe", "list_recipes",
           "recipe_for_device"]

_PREFIX = "invert_"


@dataclass(frozen=True)
class Recipe:
    """Training and inversion settings (see the module docstring for the field groups)."""

    name: str = "cpu"
    latent_dim: int | None = None  # None: auto_model_dims (256 at D = 2048)
    hidden_dim: int | None = None  # None: auto_model_dims (512 at D = 2048)
    epochs: int = 30  # passes over the training frames, at most
    batch_size: int = 256
    lr: float = 1e-3
    kl_weight: float = 0.1
    max_frames_per_epoch: int | None = None  # None: an epoch is one whole pass
    patience: int | None = 3  # epochs without held-out improvement before stopping
    holdout: float = 0.05  # fraction of training frames held out for that check
    # bytes of training frames in one tensor (beyond: a uniform sample); None: what fits the
    # device (tca.frames.fitting_budget), with a warning when even that samples
    memory_budget: int | None = 1 << 30
    invert_max_iters: int = 200
    invert_tol: float | None = 1e-3
    invert_lr: float = 0.05
    invert_optimizer: str = "adam"
    invert_betas: tuple[float, float] = (0.9, 0.999)
    invert_check_every: int = 10
    invert_lr_decays: int = 2
    invert_max_frames_per_instance: int | None = 16
    invert_space: str = "normalized"  # the space of the inversion's L2 error
    # A chunk's (frames, H) float32 temporaries (about 7 per iteration) stay under glibc's
    # 32 MiB mmap ceiling at H = 512, so they are reused from the heap instead of mapped and
    # page-faulted anew each iteration: 1.4x faster per-frame inversion on a CPU, same codes.
    invert_chunk_frames: int = 8192

    def train_kwargs(self) -> dict[str, Any]:
        """Keywords for ``train_tca``."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "name" and not f.name.startswith(_PREFIX)}

    def invert_kwargs(self) -> dict[str, Any]:
        """Keywords for ``invert`` (prefix stripped)."""
        return {f.name[len(_PREFIX):]: getattr(self, f.name) for f in fields(self)
                if f.name.startswith(_PREFIX)}

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["invert_betas"] = list(self.invert_betas)
        return out


RECIPES: dict[str, Recipe] = {
    "cpu": Recipe(),
    "paper": Recipe(name="paper", epochs=7500, patience=None, memory_budget=None,
                    invert_max_iters=10000, invert_tol=None, invert_lr=1e-3,
                    invert_lr_decays=0, invert_max_frames_per_instance=None,
                    invert_space="original",
                    invert_chunk_frames=32768),  # larger batches for a GPU
    "gpu": Recipe(name="gpu", batch_size=1024, lr=2e-3, memory_budget=8 << 30,
                  invert_chunk_frames=32768),
    "quick": Recipe(name="quick", latent_dim=16, hidden_dim=32, epochs=3, batch_size=128,
                    max_frames_per_epoch=8192, patience=None,
                    invert_max_iters=30, invert_max_frames_per_instance=8,
                    invert_chunk_frames=4096),
}


def auto_model_dims(feature_dim: int, latent_dim: int | None = None,
                    hidden_dim: int | None = None) -> tuple[int, int]:
    """``(d, H)``: the given values, or ``d = min(256, max(8, D // 8))``, ``H = min(512, max(64, 2 D))``.

    At D = 2048 (I3D) this is the paper's d = 256 (a D / d = 8 channel reduction) with H = 512;
    narrower features get proportionally smaller codes and decoder, so that K codes per segment
    stay much smaller than the frames they replace (at D = 128, d = 256 codes would be larger
    than the features themselves).
    """
    d = latent_dim if latent_dim is not None else min(256, max(8, feature_dim // 8))
    h = hidden_dim if hidden_dim is not None else min(512, max(64, 2 * feature_dim))
    return int(d), int(h)


def recipe_for_device(name: str, device: str) -> str:
    """``name``, or for ``"auto"`` the recipe of ``device`` (a resolved name: ``"cuda..."`` ->
    ``"gpu"``, anything else -> ``"cpu"``)."""
    if name != "auto":
        return name
    return "gpu" if str(device).startswith("cuda") else "cpu"


def list_recipes() -> list[str]:
    return sorted(RECIPES)


def get_recipe(name: str = "cpu", **overrides: Any) -> Recipe:
    """The recipe ``name`` with fields replaced by ``overrides``; clear errors for bad names."""
    recipe = RECIPES.get(name) if isinstance(name, str) else None
    if recipe is None:
        raise TascodecError(f"unknown recipe {name!r}; known: {list_recipes()}")
    known = {f.name for f in fields(Recipe)} - {"name"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        near = {u: get_close_matches(u, known, n=1) for u in unknown}
        hint = "; ".join(f"did you mean {m[0]!r} for {u!r}?" for u, m in near.items() if m)
        raise TascodecError(f"recipe {name!r}: unknown field(s) {unknown}"
                            + (f" ({hint})" if hint else "") + f"; known: {sorted(known)}")
    if "invert_betas" in overrides:
        betas = overrides["invert_betas"]
        if not isinstance(betas, (list, tuple)) or len(betas) != 2:
            raise TascodecError(f"recipe field invert_betas must be a pair, got {betas!r}")
        overrides["invert_betas"] = (float(betas[0]), float(betas[1]))
    return replace(recipe, **overrides)
