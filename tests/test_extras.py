"""The optional dependencies (``tascodec.extras``): the one message that names a missing extra
and the command that installs it."""

from __future__ import annotations

import sys

import pytest

from tascodec.errors import MissingDependencyError
from tascodec.extras import (
    TORCH_EXTRA,
    install_command,
    is_torch_import_error,
    missing_torch_message,
    require_torch,
)


def test_the_message_names_what_needs_torch_and_how_to_install_it():
    assert install_command(TORCH_EXTRA) == 'pip install -e ".[torch]" in a checkout of tascodec'
    message = missing_torch_message("tascodec encode")
    assert message.startswith("tascodec encode needs PyTorch, which is not installed: ")
    assert install_command("torch") in message and "\n" not in message


def test_only_an_import_of_torch_counts():
    assert is_torch_import_error(ModuleNotFoundError("x", name="torch"))
    assert is_torch_import_error(ImportError("x", name="torch.cuda"))
    assert not is_torch_import_error(ModuleNotFoundError("x", name="torchvision"))
    assert not is_torch_import_error(ImportError("x", name="numpy"))
    assert not is_torch_import_error(RuntimeError("torch"))


def test_require_torch_names_the_extra_when_torch_is_missing(monkeypatch):
    pytest.importorskip("torch")
    assert require_torch("x") is sys.modules["torch"]
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ModuleNotFoundError
    with pytest.raises(MissingDependencyError, match="TaszDataset needs PyTorch, which is not "
                                                     "installed") as exc:
        require_torch("TaszDataset")
    assert isinstance(exc.value, ImportError) and TORCH_EXTRA in str(exc.value)
