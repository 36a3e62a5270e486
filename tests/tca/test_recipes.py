"""Named settings for TCA training and inversion (``tascodec.tca.recipes``)."""

from __future__ import annotations

import inspect

import pytest

from tascodec.errors import TascodecError
from tascodec.tca.invert import invert
from tascodec.tca.recipes import RECIPES, Recipe, auto_model_dims, get_recipe, list_recipes
from tascodec.tca.train import train_tca


def test_a_misspelt_codec_parameter_gets_a_suggestion():
    from tascodec.tca.recipes import get_recipe

    with pytest.raises(TascodecError, match="did you mean 'hidden_dim' for 'hiden_dim'"):
        get_recipe("cpu", hiden_dim=32)


def test_paper_recipe_budget_is_what_fits_the_device():
    assert get_recipe("paper").memory_budget is None
    assert get_recipe("cpu").memory_budget == 1 << 30  # the default recipe is unchanged
    assert get_recipe("paper", memory_budget=5000).memory_budget == 5000


def test_recipes_known_and_defaults():
    assert list_recipes() == ["cpu", "gpu", "paper", "quick"]
    assert get_recipe() == RECIPES["cpu"]
    paper = get_recipe("paper")
    assert (paper.epochs, paper.lr, paper.invert_max_iters, paper.invert_lr) == (7500, 1e-3,
                                                                                  10000, 1e-3)
    assert paper.invert_tol is None and paper.invert_max_frames_per_instance is None
    assert paper.latent_dim is None  # auto: the paper's d = 256 at D = 2048
    assert auto_model_dims(2048) == (256, 512)
    assert auto_model_dims(128) == (16, 256)
    assert auto_model_dims(128, 32, 64) == (32, 64)


def test_recipe_overrides_and_errors():
    r = get_recipe("cpu", epochs=3, invert_betas=[0.8, 0.9])
    assert r.epochs == 3 and r.invert_betas == (0.8, 0.9) and r.name == "cpu"
    assert RECIPES["cpu"].epochs != 3  # the registry is not mutated
    with pytest.raises(TascodecError, match="unknown recipe 'tpu'"):
        get_recipe("tpu")
    with pytest.raises(TascodecError, match="unknown field"):
        get_recipe("cpu", epoch=3)
    with pytest.raises(TascodecError, match="invert_betas"):
        get_recipe("cpu", invert_betas=0.9)
    assert r.as_dict()["invert_betas"] == [0.8, 0.9]


def test_recipe_kwargs_match_signatures():
    train_params = set(inspect.signature(train_tca).parameters)
    invert_params = set(inspect.signature(invert).parameters)
    r = Recipe()
    assert set(r.train_kwargs()) <= train_params
    assert set(r.invert_kwargs()) <= invert_params
    assert "init" not in r.invert_kwargs()  # the init is a codec parameter


def test_auto_recipe_follows_the_device():
    from tascodec.tca.recipes import get_recipe, recipe_for_device

    assert recipe_for_device("auto", "cpu") == "cpu"
    assert recipe_for_device("auto", "cuda:1") == "gpu"
    assert recipe_for_device("paper", "cuda") == "paper"
    gpu = get_recipe("gpu")
    assert gpu.invert_chunk_frames > get_recipe("cpu").invert_chunk_frames
    assert gpu.memory_budget > get_recipe("cpu").memory_budget
    assert get_recipe("cpu", memory_budget=123).train_kwargs()["memory_budget"] == 123
