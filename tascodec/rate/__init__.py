"""Rate control: what a byte budget buys (``byte_model``: the byte model, operating points, K per
segment, the ``pca`` codec's components and stride) and how an archive is fitted under a hard
limit by measuring it (``fit``: trial, shrink, retry at the floor). NumPy only."""

from .fit import *  # noqa: F401,F403
from .fit import __all__ as _fit_all
from .byte_model import *  # noqa: F401,F403
from .byte_model import __all__ as _model_all

__all__ = [*_model_all, *_fit_all]
