"""Text from a character-level LM on a board: `generate(folder, prompt, chars, ...) -> Generation` (`hwgen generate`).

The board (or, with no port, the Verilator host simulation of the whole board top) runs one step per
RUN: the prompt's characters, then each sampled character fed back as the next input. Every step's
outputs are checked against the integer reference (`IntegerModel.run` on the same inputs), so text
from a board that disagrees is never reported as the model's.

Sampling happens on the host, from the step's integer logits: the next input has to cross the link
anyway, so a hardware sampler would save no round trip; it would cost LUTs on a UP5K already at its
limit, and softmax with a temperature needs exp() that the accumulate-only datapath lacks. Temperature
0 is greedy decoding (the first largest logit), which an ``--stream argmax`` board does itself and
returns as one word per step. With a temperature, p = softmax(logits · scale / temperature) and the
character is drawn by ``numpy.random.default_rng(seed)``: the same integer logits and seed give the
same text on any board, the simulation or the reference.

The vocabulary (:class:`Vocabulary`) is the training run's: `hwgen train lstm --task charlm` keeps it
in RUN/checkpoint.pt (byte id = its index in the sorted set of the corpus's bytes; the model's input
is the one-hot vector of the id). The ONNX model does not carry it, so `generate` reads it from
`vocab` (a training run folder, or a vocab.json), or from OUT/vocab.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np

from hwgen.errors import HwgenError
from hwgen.fpga.board_run import board_session, expected_outputs, load_build, stream_of
from hwgen.fpga.protocol import StreamMode
from hwgen.model.saved import RecurrentModel, load_model

VOCAB_FILE = "vocab.json"


@dataclass(frozen=True)
class Vocabulary:
    """A char-LM's symbols: id -> byte (the sorted bytes of its training corpus)."""

    symbols: bytes

    def encode(self, text: str) -> np.ndarray:
        """Ids of `text`'s bytes (UTF-8); a HwgenError names the characters the model does not know."""
        data = text.encode("utf-8")
        table = np.full(256, -1, np.int64)
        table[np.frombuffer(self.symbols, np.uint8)] = np.arange(len(self.symbols))
        ids = table[np.frombuffer(data, np.uint8)]
        if (ids < 0).any():
            bad = sorted({chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b, i in zip(data, ids) if i < 0})
            raise HwgenError(f"--prompt has characters outside the model's vocabulary: {' '.join(map(repr, bad))} "
                             f"(it knows {len(self.symbols)}: {self.symbols.decode('latin-1')!r})")
        return ids

    def decode(self, ids) -> str:
        return bytes(self.symbols[i] for i in ids).decode("utf-8", errors="replace")

    def save(self, path: Union[str, Path]) -> Path:
        path = Path(path)
        path.write_text(json.dumps({"vocab": list(self.symbols),
                                    "encoding": "one-hot of the byte's index in vocab (hwgen train --task charlm)"})
                        + "\n")
        return path


def load_vocabulary(source: Union[str, Path]) -> Vocabulary:
    """The vocabulary of a training run folder (its checkpoint), a build folder's vocab.json, or a vocab.json."""
    path = Path(source)
    if path.is_dir() and (path / "checkpoint.pt").exists():
        from hwgen.quant.checkpoint import load_checkpoint

        vocab = load_checkpoint(path).vocab
        if vocab is None:
            raise HwgenError(f"{path}: this training run is not a char-LM (its checkpoint has no vocabulary)")
        return Vocabulary(vocab)
    file = path / VOCAB_FILE if path.is_dir() else path
    if not file.exists():
        raise HwgenError(f"{source}: no vocabulary (neither a training run's checkpoint.pt nor {VOCAB_FILE}); pass "
                         f"--vocab RUN/ (the `hwgen train lstm --task charlm` folder) or a {VOCAB_FILE}")
    try:
        return Vocabulary(bytes(json.loads(file.read_text())["vocab"]))
    except (ValueError, KeyError, TypeError) as err:
        raise HwgenError(f"{file}: not a vocabulary file ({err}); expected {{\"vocab\": [byte, ...]}}") from None


@dataclass(frozen=True)
class Sampling:
    """How the next character is picked from a step's logits: greedy (temperature 0) or drawn with `seed`."""

    temperature: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.temperature >= 0:
            raise HwgenError(f"--temperature {self.temperature}: must be >= 0 (0: the most likely character)")

    def picker(self, scale: float) -> Callable[[np.ndarray], int]:
        """A function from one step's integer logits (float = int × `scale`) to the next id."""
        rng = np.random.default_rng(self.seed)

        def pick(logits: np.ndarray) -> int:
            if self.temperature == 0:
                return int(np.argmax(logits))
            z = np.asarray(logits, np.float64) * (scale / self.temperature)
            p = np.exp(z - z.max())
            return int(rng.choice(p.size, p=p / p.sum()))

        return pick


@dataclass(frozen=True, eq=False)
class Generation:
    """A prompt, the characters generated after it, every step's outputs and the reference's."""

    prompt: str
    text: str
    inputs: np.ndarray    # integer codes [T, V] fed step by step (the prompt, then all but the last generated id)
    outputs: np.ndarray   # per-step outputs [T, K] (logits) or [T] (argmax) from the board
    expected: np.ndarray  # the integer reference's for the same inputs

    @property
    def bit_exact(self) -> bool:
        return bool(np.array_equal(self.outputs, self.expected))


#: One step: integer inputs [X], whether it ends the sequence -> that step's outputs.
Stepper = Callable[[np.ndarray, bool], np.ndarray]


def check_request(model: RecurrentModel, mode: StreamMode, vocab: Vocabulary, prompt: str, chars: int,
                  sampling: Sampling) -> np.ndarray:
    """The prompt's ids, after checking the build, the vocabulary and the request; HwgenErrors say what is wrong."""
    if mode == StreamMode.SEQUENCE or model.output_steps != "every_step":
        raise HwgenError("this build returns one output burst per sequence (a last-step model); generating text "
                         "needs a per-step model, a char-LM (`hwgen train lstm --task charlm`, exported and built)")
    if model.head is None:
        raise HwgenError("the model has no dense head (its per-step outputs are hidden states, not logits)")
    if len(vocab.symbols) != model.input_size or model.output_size != model.input_size:
        raise HwgenError(f"the vocabulary has {len(vocab.symbols)} symbols; the model takes {model.input_size} "
                         f"inputs and gives {model.output_size} logits: not this model's vocabulary")
    if chars < 1:
        raise HwgenError(f"--chars {chars}: generate at least 1 character")
    if not prompt:
        raise HwgenError("--prompt is empty: give at least one character to start from")
    if mode == StreamMode.ARGMAX and sampling.temperature != 0:
        raise HwgenError(f"--temperature {sampling.temperature:g}: this board was built with --stream argmax and "
                         f"returns only each step's most likely character; use --temperature 0, or rebuild with "
                         f"--stream logits to sample on the host")
    return vocab.encode(prompt)


def run_generation(model: RecurrentModel, mode: StreamMode, vocab: Vocabulary, prompt: str, chars: int,
                   sampling: Sampling, step: Stepper) -> Generation:
    """Feed the prompt, then each picked character, through `step`; the last step ends the sequence."""
    ids = list(check_request(model, mode, vocab, prompt, chars, sampling))
    eye = np.eye(len(vocab.symbols))
    pick = sampling.picker(model.output_scale)
    n_prompt, outputs, produced = len(ids), [], []
    total = n_prompt + chars - 1
    for t in range(total):
        y = np.asarray(step(model.quantize_input(eye[ids[t]]), t == total - 1))
        outputs.append(y)
        if t >= n_prompt - 1:
            produced.append(int(y[0]) if mode == StreamMode.ARGMAX else pick(y))
            if len(ids) < total:
                ids.append(produced[-1])
    inputs = model.quantize_input(eye[ids])
    out = np.stack(outputs)
    out = out[:, 0] if mode == StreamMode.ARGMAX else out
    return Generation(prompt, vocab.decode(produced), inputs, out, expected_outputs(model, mode, inputs[None])[0])


def reference_stepper(model: RecurrentModel, mode: StreamMode) -> Stepper:
    """The integer reference as a stepper (it reruns the growing prefix: for tests and short texts)."""
    prefix: list[np.ndarray] = []

    def step(x: np.ndarray, final: bool) -> np.ndarray:
        prefix.append(x)
        y = expected_outputs(model, mode, np.stack(prefix)[None])[0, -1]
        if final:
            prefix.clear()
        return np.atleast_1d(y)

    return step


def generate(folder: Union[str, Path], prompt: str, chars: int, *, sampling: Sampling = Sampling(),
             port: Optional[str] = None, vocab: Optional[Union[str, Path]] = None, baud: Optional[int] = None,
             timeout: float = 30.0) -> Generation:
    """Generate `chars` characters after `prompt` with the char-LM built into `folder`: on the board at `port`,
    or without one in the Verilator host simulation of the whole board top; checked against the reference."""
    folder = Path(folder)
    meta = load_build(folder)
    model = load_model(folder / meta["model"])
    vocabulary = load_vocabulary(vocab if vocab is not None else folder)
    mode = stream_of(meta)
    check_request(model, mode, vocabulary, prompt, chars, sampling)  # before a simulator is built
    with board_session(folder, port, baud, timeout) as dev:
        return run_generation(model, mode, vocabulary, prompt, chars, sampling,
                              lambda x, final: dev.step(x, final)[0])
