"""Split names, one meaning everywhere (datasets, archives, ``TaszDataset``, ``export``,
``encode``, ``eval``, the CLI): a split is named by its bundle stem (``train.split1``);
``"train"`` / ``"test"`` mean ``train.split1`` / ``test.split1`` unless a split of that exact
name exists (:func:`resolve_split`, :func:`select_split`); a *fold* ``"split1"`` names the pair
``(train.split1, test.split1)`` (:func:`split_names`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import TascodecError

__all__ = ["resolve_split", "select_split", "split_names", "DEFAULT_FOLD"]

#: The fold ``"train"`` / ``"test"`` refer to.
DEFAULT_FOLD = "split1"


def resolve_split(name: str, available: Iterable[str] = ()) -> str:
    """The split name ``name`` means: itself when ``available`` holds it, else ``"train"`` /
    ``"test"`` -> ``"train.split1"`` / ``"test.split1"``, else itself."""
    if name in ("train", "test") and name not in set(available):
        return f"{name}.{DEFAULT_FOLD}"
    return name


def select_split(splits: Mapping[str, Any], name: str, where: Any,
                 error: type[TascodecError] = TascodecError) -> str:
    """The key of ``splits`` that ``name`` resolves to; ``error`` naming ``where`` and listing
    the available splits when there is none."""
    key = resolve_split(name, splits)
    if key not in splits:
        raise error(f"{where}: split {name!r} not found; available: {sorted(splits)}")
    return key


def split_names(fold: str) -> tuple[str, str]:
    """``"split1"`` (or ``"train.split1"`` / ``"test.split1"``) -> ``("train.split1",
    "test.split1")``."""
    base = fold
    for prefix in ("train.", "test."):
        if base.startswith(prefix):
            base = base[len(prefix) :]
    if not base or "." in base or "/" in base:
        raise TascodecError(f"split: expected a name like 'split1', got {fold!r}")
    return f"train.{base}", f"test.{base}"
