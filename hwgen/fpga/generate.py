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

A surprisal-gated pair's board (`hwgen.fpga.gated_board`) takes the character id itself and returns each step's
decision and logits (1 + 2V words); the next character comes from the logits the step used, at the scale of the
model that produced them, and every step is checked against `GatedConfig.reference` (`run_gated_generation`).

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
from hwgen.hw.gated_config import GatedConfig
from hwgen.model.saved import RecurrentModel, load_model
from hwgen.rtl.gated import config_from_manifest, is_gated

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

    def picker(self) -> Callable[[np.ndarray, float], int]:
        """A function from one step's integer logits and their scale (float = int × scale) to the next id."""
        rng = np.random.default_rng(self.seed)

        def pick(logits: np.ndarray, scale: float) -> int:
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
    inputs: np.ndarray    # integer codes [T, V] fed step by step (the prompt, then all but the last generated id);
                          # a gated pair: the ids [T, 1]
    outputs: np.ndarray   # per-step outputs [T, K] (logits) or [T] (argmax) from the board; a gated pair: each
                          # step's beats [T, 1 + 2V] (decision, logits used, small logits)
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
    if mode == StreamMode.ARGMAX and sampling.temperature != 0:
        raise HwgenError(f"--temperature {sampling.temperature:g}: this board was built with --stream argmax and "
                         f"returns only each step's most likely character; use --temperature 0, or rebuild with "
                         f"--stream logits to sample on the host")
    return _text_request(vocab, prompt, chars)


def _text_request(vocab: Vocabulary, prompt: str, chars: int) -> np.ndarray:
    """The prompt's ids, after checking the prompt and the length."""
    if chars < 1:
        raise HwgenError(f"--chars {chars}: generate at least 1 character")
    if not prompt:
        raise HwgenError("--prompt is empty: give at least one character to start from")
    return vocab.encode(prompt)


def _feed(ids: list[int], chars: int, step: Callable[[int, bool], np.ndarray],
          pick: Callable[[np.ndarray], int]) -> tuple[list[int], np.ndarray, list[int]]:
    """Feed the prompt's `ids`, then each picked id, through `step(id, final)`; the last step ends the sequence.
    Returns every fed id, every step's outputs and the produced ids."""
    ids = list(ids)
    n_prompt, outputs, produced = len(ids), [], []
    total = n_prompt + chars - 1
    for t in range(total):
        y = np.asarray(step(ids[t], t == total - 1))
        outputs.append(y)
        if t >= n_prompt - 1:
            produced.append(pick(y))
            if len(ids) < total:
                ids.append(produced[-1])
    return ids, np.stack(outputs), produced


def run_generation(model: RecurrentModel, mode: StreamMode, vocab: Vocabulary, prompt: str, chars: int,
                   sampling: Sampling, step: Stepper) -> Generation:
    """Feed the prompt, then each picked character, through `step`; the last step ends the sequence."""
    prompt_ids = check_request(model, mode, vocab, prompt, chars, sampling)
    eye = np.eye(len(vocab.symbols))
    sample = sampling.picker()
    argmax = mode == StreamMode.ARGMAX
    ids, out, produced = _feed(list(prompt_ids), chars, lambda i, final: step(model.quantize_input(eye[i]), final),
                               lambda y: int(y[0]) if argmax else sample(y, model.output_scale))
    inputs = model.quantize_input(eye[ids])
    out = out[:, 0] if argmax else out
    return Generation(prompt, vocab.decode(produced), inputs, out, expected_outputs(model, mode, inputs[None])[0])


def check_gated_request(config: GatedConfig, vocab: Vocabulary, prompt: str, chars: int) -> np.ndarray:
    """`check_request` for a gated pair: the prompt's ids."""
    if len(vocab.symbols) != config.vocab:
        raise HwgenError(f"the vocabulary has {len(vocab.symbols)} symbols; the gated pair reads and predicts "
                         f"{config.vocab}: not this pair's vocabulary")
    return _text_request(vocab, prompt, chars)


def run_gated_generation(config: GatedConfig, vocab: Vocabulary, prompt: str, chars: int, sampling: Sampling,
                         step: Stepper) -> Generation:
    """As `run_generation` for a surprisal-gated pair: `step` takes [id] and gives the step's 1 + 2V beats; the
    next character is picked from the logits used (the big model's where it ran, at its scale, else the small's)."""
    prompt_ids = check_gated_request(config, vocab, prompt, chars)
    V, sample = config.vocab, sampling.picker()
    pair = config.pair()
    scales = (pair.small.output_scale, pair.big.output_scale)

    def pick(beats: np.ndarray) -> int:
        return sample(beats[1:1 + V], scales[int(beats[0] != 0)])

    ids, out, produced = _feed(list(prompt_ids), chars, lambda i, final: step(np.array([i]), final), pick)
    expected, _ = config.reference(np.array(ids)[None])
    return Generation(prompt, vocab.decode(produced), np.array(ids)[:, None], out, expected[0])


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
    vocabulary = load_vocabulary(vocab if vocab is not None else folder)
    if is_gated(meta):
        config = config_from_manifest(folder, meta, "fpga.json")
        check_gated_request(config, vocabulary, prompt, chars)  # before a simulator is built
        with board_session(folder, port, baud, timeout) as dev:
            return run_gated_generation(config, vocabulary, prompt, chars, sampling,
                                        lambda x, final: dev.step(x, final)[0])
    model = load_model(folder / meta["model"])
    mode = stream_of(meta)
    check_request(model, mode, vocabulary, prompt, chars, sampling)  # before a simulator is built
    with board_session(folder, port, baud, timeout) as dev:
        return run_generation(model, mode, vocabulary, prompt, chars, sampling,
                              lambda x, final: dev.step(x, final)[0])
