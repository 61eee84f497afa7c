"""Fine-tuning tests: the tiny random-init BERT and fabricated texts of the transformer tests, one CPU thread."""

from __future__ import annotations

import pytest
import torch

from tests.quant.transformer.conftest import tiny_bert, tiny_train_config, topics_jsonl  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_finetune(model, data, method: str, **kw):
    from hwgen.finetune.run import FinetuneConfig

    train = {k: kw.pop(k) for k in list(kw) if k in ("steps", "limit", "batch_size", "lr", "epochs")}
    return FinetuneConfig(tiny_train_config(model, data, **train), method=method, **kw)
