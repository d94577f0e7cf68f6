"""Long kernel work shows a bar on stderr when asked (SFT with its loss, generation with its
sample count) and prints nothing when not: the real tiny model, stderr captured."""

from __future__ import annotations

import copy
from typing import Any

import pytest

pytest.importorskip("torch", reason="needs the train extra")


from crucible.kernel.config import SamplingConfig
from crucible.kernel.sampler import Sampler
from crucible.kernel.sft import fine_tune

pytestmark = pytest.mark.train

PAIRS = [("def one():\n", "    return 1\n"), ("def two():\n", "    return 2\n")] * 3


@pytest.mark.parametrize("shown", [True, False])
def test_sft_shows_batches_and_loss(
    tiny: tuple[Any, Any], capsys: pytest.CaptureFixture[str], shown: bool
) -> None:
    model, tokenizer = copy.deepcopy(tiny[0]), tiny[1]
    fine_tune(model, tokenizer, PAIRS, epochs=2, lr=1e-4, batch_size=4, progress=shown)
    captured = capsys.readouterr()
    assert captured.out == ""
    if shown:  # 6 pairs in batches of 4: 2 batches an epoch
        assert "SFT" in captured.err and "4/4" in captured.err
        assert "epoch 2/2 loss" in captured.err
    else:
        assert captured.err == ""


@pytest.mark.parametrize("shown", [True, False])
def test_generation_shows_samples(
    tiny: tuple[Any, Any], capsys: pytest.CaptureFixture[str], shown: bool
) -> None:
    model, tokenizer = tiny
    sampler = Sampler(model, tokenizer, SamplingConfig(max_new_tokens=4, batch_size=2))
    sampler.sample(["<s>def f():\n", "<s>x"], n=3, progress=shown)
    err = capsys.readouterr().err
    if shown:
        assert "generating" in err and "6/6" in err
    else:
        assert err == ""
