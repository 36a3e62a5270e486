"""Options a codec does not take are refused (``Codec.encode_options``): by ``tascodec.encode``
naming the keyword, by ``tascodec encode`` naming the flag (exit 2, one line), before any work;
options left at their defaults are not "given"; the help lists what is accepted."""

from __future__ import annotations

import argparse

import pytest

from tascodec.cli import build_parser, main
from tascodec.codecs import list_codecs
from tascodec.codecs.options import check_codec_options, codec_class, given_options
from tascodec.errors import TascodecError
from tascodec.tca.recipes import list_recipes

# (codec, CLI flags, the words the one-line error must hold)
REFUSED = [
    ("raw", ["--code-dtype", "int8"], ["'raw'", "--code-dtype int8", "float32|float16"]),
    ("mean", ["-k", "4"], ["'mean'", "-k 4", "-k 1"]),
    ("mean", ["-k", "auto"], ["'mean'", "-k auto"]),
    ("coreset", ["--per-frame"], ["'coreset'", "--per-frame"]),
    ("mean", ["--recipe", "quick"], ["'mean'", "--recipe quick"]),
    ("raw", ["--recipe", "cpu"], ["'raw'", "--recipe cpu"]),
    ("tca-random", ["--code-dtype", "int8"], ["'tca-random'", "--code-dtype int8", "--recipe"]),
    ("tca-random", ["-k", "8"], ["'tca-random'", "-k 8"]),
    ("mean", ["--target-ratio", "30"], ["'mean'", "--target-ratio 30"]),
    ("raw", ["--max-bytes", "9000"], ["'raw'", "--max-bytes 9000"]),
    ("inversion", ["-k", "8", "--target-ratio", "30"], ["--target-ratio 30", "-k auto", "-k 8"]),
    ("encoded", ["--per-frame", "--max-bytes", "9000"], ["--max-bytes", "--per-frame"]),
]


@pytest.mark.parametrize("codec, flags, words", REFUSED,
                         ids=[f"{c} {' '.join(f)}" for c, f, _ in REFUSED])
def test_cli_refuses_in_one_line(codec, flags, words, tmp_path, capsys):
    out = tmp_path / "a.tasz"
    assert main(["encode", str(tmp_path / "no-dataset"), str(out), "--codec", codec,
                 *flags]) == 2  # refused before the (missing) dataset is read
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("tascodec encode: error: codec ") or "-k auto" in err
    for word in words:
        assert word in err, (word, err)
    assert "=" not in err.split("error:", 1)[1]  # flags, not Python keywords
    assert not out.exists()


@pytest.mark.parametrize("codec, kwargs, words", [
    ("mean", {"k": 4}, ["'mean'", "k=4", "k=1"]),
    ("mean", {"k": None}, ["k=None"]),
    ("raw", {"code_dtype": "int8"}, ["'raw'", "code_dtype='int8'", "('float32', 'float16')"]),
    ("coreset", {"recipe": "quick"}, ["recipe='quick'"]),
    ("inversion", {"k": 8, "max_bytes": 9000}, ["max_bytes=9000", "k='auto'", "k=8"]),
    ({"id": "mean"}, {"k": 2}, ["'mean'", "k=2"]),
])
def test_python_refuses_naming_the_keyword(codec, kwargs, words, tmp_path):
    from tascodec import encode

    with pytest.raises(TascodecError) as exc:
        encode(tmp_path / "no-dataset", tmp_path / "a.tasz", codec=codec, **kwargs)
    for word in words:
        assert word in str(exc.value), (word, str(exc.value))
    assert "--" not in str(exc.value)


def test_what_each_codec_takes_passes():
    check_codec_options("mean", {"k": 1, "code_dtype": "int8"})
    check_codec_options("raw", {"k": None, "code_dtype": "float16"})
    check_codec_options("tca-random", {"k": 1, "recipe": "quick"})
    for codec in ("inversion", "encoded"):
        check_codec_options(codec, {"k": "auto", "recipe": "paper", "code_dtype": "int8",
                                    "target_ratio": 30.0})
        check_codec_options(codec, {"k": None, "code_dtype": "float16"})
    with pytest.raises(TascodecError):
        check_codec_options("mean", {"k": True})  # True is not 1


def test_defaults_are_not_given():
    assert given_options(k="auto", recipe="auto", code_dtype=None, target_ratio=None,
                         max_bytes=None) == {}
    assert given_options(k=None, recipe="auto", code_dtype="float32") == {
        "k": None, "code_dtype": "float32"}


def test_cli_passes_only_what_the_user_set(tiny_dataset, tmp_path, capsys):
    # mean with every option left alone: encode's defaults (k="auto", recipe="auto") apply
    assert main(["encode", str(tiny_dataset), str(tmp_path / "m.tasz"), "--codec", "mean",
                 "--device", "cpu", "--quiet"]) == 0
    assert main(["encode", str(tiny_dataset), str(tmp_path / "r.tasz"), "--codec", "raw",
                 "--code-dtype", "float16", "--per-frame", "--device", "cpu", "--quiet"]) == 0
    assert "raw" in capsys.readouterr().out
    from tascodec import open as open_archive

    with open_archive(tmp_path / "r.tasz") as ar:
        assert ar.code_dtype == "float16"


def _encode_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["encode"]


def test_help_lists_what_is_accepted():
    p = _encode_parser()
    actions = {a.dest: a for a in p._actions}
    recipes = ["auto", *list_recipes()]
    assert list(actions["recipe"].choices) == recipes and "quick" in recipes
    for name in recipes:
        assert name in actions["recipe"].help
    assert list(actions["codec"].choices) == list_codecs()
    help_text = p.format_help()
    for codec in list_codecs():  # the epilog: one line per codec with what it takes
        line = next(ln for ln in help_text.splitlines() if ln.strip().startswith(codec + " "))
        takes = codec_class(codec).encode_options
        assert ("--recipe" in line) == ("recipe" in takes), line
        assert ("int8" in line) == ("int8" in (takes.get("code_dtype") or ())), line
    assert "float32|float16 for raw" in actions["code_dtype"].help.replace("\n", " ")
    # what the help promises, the parser takes
    for name in recipes:
        p.parse_args(["d", "o", "--recipe", name])
    with pytest.raises(SystemExit):
        p.parse_args(["d", "o", "--recipe", "gpu-max"])
