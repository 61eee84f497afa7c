"""quant tests: one CPU thread (small tensors; deterministic) and tiny trained runs shared per session."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(**kw):
    from hwgen.quant.train import TrainConfig

    base = dict(task="digits", weights="ternary", hidden=8, epochs=2, fold_epochs=1, batch_size=64, progress=False)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="session")
def digits_runs(tmp_path_factory):
    """Tiny trained digits runs: ternary+BN, binary without BN, float (nn.LSTM), 2-layer ternary+BN."""
    from hwgen.quant.train import train

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("digits_runs")
    configs = {
        "ternary": tiny_config(),
        "binary_nobn": tiny_config(weights="binary", bn=False),
        "float": tiny_config(weights="float"),
        "ternary_2layer": tiny_config(layers=2, hidden=6, epochs=1),
    }
    return {name: train(cfg, root / name) for name, cfg in configs.items()}
