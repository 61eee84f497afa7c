"""A tiny character-level LM made the way a user makes one: `hwgen train lstm --task charlm [--cell gru]` (two training
steps on a small corpus: the real vocabulary and one-hot input encoding), exported to ONNX, lowered, and
written as a board build folder (fpga.json, model.npz, weights.npy, vocab.json) without the toolchain.

Deterministic (seeded training, fixed corpus), so every test module that builds the same folder gets the
same Verilog and shares one compiled host simulation through hwgen's build cache.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from hwgen.fpga.flow import FpgaDesign, design_for, write_run_files
from hwgen.fpga.generate import VOCAB_FILE, Vocabulary
from hwgen.model.saved import RecurrentModel

CORPUS = b"the cat sat on the mat. a dog ran to the cat; the mat was red. " * 8
SEQ_LEN = 8
HIDDEN = 16


@dataclass(frozen=True, eq=False)
class TinyCharLM:
    run: Path               # the training run folder (its checkpoint holds the vocabulary)
    onnx: Path
    model: RecurrentModel
    vocab: Vocabulary


def train_tiny_charlm(root: Path, cell: str = "lstm") -> TinyCharLM:
    import torch

    from hwgen.frontend import load_graph
    from hwgen.passes.pipeline import lower_for_accelerator
    from hwgen.quant.data import corpus_from_bytes
    from hwgen.quant.export import export_run
    from hwgen.quant.train import TrainConfig, train

    torch.set_num_threads(1)
    data = corpus_from_bytes(CORPUS, SEQ_LEN, "tiny corpus")
    config = TrainConfig(task="charlm", hidden=HIDDEN, epochs=1, steps_per_epoch=2, seq_len=SEQ_LEN, batch_size=4,
                         progress=False, cell=cell)
    train(config, root / "run", data=data)
    export_run(root / "run", root / "lm.onnx", evaluate_metric=False)
    calibration = np.eye(len(data.vocab), dtype=np.float32)[data.train[:64]][None]
    model = lower_for_accelerator(load_graph(root / "lm.onnx"), calibration=calibration)
    return TinyCharLM(root / "run", root / "lm.onnx", model, Vocabulary(data.vocab))


def board_folder(lm: TinyCharLM, out: Path, stream: Optional[str] = None, output_depth: Optional[int] = None,
                 with_vocab: bool = True) -> FpgaDesign:
    """The icebreaker build folder of `lm` (no bitstream); `output_depth` widens the output buffer (more steps
    per RUN)."""
    design = design_for(lm.model, "icebreaker", input_words=64, stream=stream)
    if output_depth is not None:
        design = dataclasses.replace(design, output_depth=output_depth)
    write_run_files(design, out)
    if with_vocab:
        lm.vocab.save(out / VOCAB_FILE)
    return design
