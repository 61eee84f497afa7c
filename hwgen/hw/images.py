"""Memory images: how the integer model's numbers are laid out in the accelerator's memories.

Rows run in hardware order — unit-major, gates i, f, g, o (ONNX rows j, 2H+j, 3H+j, H+j)
— so a unit's state update can start as soon as its o row is done. A weight word holds
`lanes` codes of one row (lane i at bits [i·b, (i+1)·b)), input-part chunks first, then
hidden-part chunks; layer after layer. With `gate_rows=4` a word holds the same chunk of a
unit's four rows side by side (gate q's lane i at bits [(q·lanes + i)·b, ...)), words in unit
order, each unit's chunks in turn. The same lists fill the Amaranth ROM `init`s and
the `$readmemh` files of `hwgen build --target rtl`.

Layer 0's input part is padded to `config.padded_input()` columns when lanes do not divide the
input: the pad columns meet pad slots of the x memory, which are never written and read 0, so
their product is 0 whatever the code. They hold `PAD_CODE` (0; binary, which has no 0, +1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hwgen.hw.lanes import WEIGHT_BITS, encode_code
from hwgen.model.integer_model import IntegerModel

if TYPE_CHECKING:
    from hwgen.hw.config import AccelConfig


def onnx_rows(hidden: int) -> np.ndarray:
    """ONNX row index of each hardware row (unit j: i, f, g, o)."""
    j = np.arange(hidden)
    return np.stack([j, 2 * hidden + j, 3 * hidden + j, hidden + j], axis=1).reshape(-1)


#: The code in an input pad column, per weights kind (its product with the pad's x = 0 is 0 either way).
PAD_CODE = {"binary": 1, "ternary": 0, "int8": 0}


def weight_words(config: "AccelConfig", model: IntegerModel) -> list[int]:
    kind, lanes = config.weights_kind, config.lanes
    b = WEIGHT_BITS[kind]
    words = []
    for index, layer in enumerate(model.layers):
        w = layer.w_codes.astype(np.int64)
        pad = np.full((w.shape[0], config.padded_input(index) - w.shape[1]), PAD_CODE[kind], np.int64)
        codes = np.concatenate([w, pad, layer.r_codes], axis=1)[onnx_rows(layer.hidden)].astype(np.int64)
        rows = config.gate_rows  # rows side by side in a word: row q of the group at bits [q·lanes·b, (q+1)·lanes·b)
        for group in range(0, codes.shape[0], rows):
            for k in range(0, codes.shape[1], lanes):
                word = 0
                for q, row in enumerate(codes[group:group + rows]):
                    for i, c in enumerate(row[k:k + lanes]):
                        word |= encode_code(int(c), kind) << ((q * lanes + i) * b)
                words.append(word)
    return words


def head_words(config: "AccelConfig", model: IntegerModel) -> list[int]:
    """The dense head's weight words: output k's codes W[k, c·n .. (c+1)·n) (n = `config.head_products`, code i at
    bits [8i, 8i + 8)) at word k · H/n + c."""
    if model.head is None:
        return []
    lanes, w = config.head_products, model.head.weights.astype(np.int64)
    return [sum(encode_code(int(c), "int8") << (8 * i) for i, c in enumerate(row[j:j + lanes]))
            for row in w for j in range(0, w.shape[1], lanes)]


def row_params(model: IntegerModel) -> list[tuple[int, int, int]]:
    """(mult_x, mult_h, bias) per hardware row, layer after layer."""
    out = []
    for layer in model.layers:
        order = onnx_rows(layer.hidden)
        g = layer.gate
        out += [(int(g.mult_x[r]), int(g.mult_h[r]), int(g.bias[r])) for r in order]
    return out


def cell_params(model: IntegerModel) -> list[tuple[int, int]]:
    return [(int(m), int(b)) for layer in model.layers for m, b in zip(layer.cell.mult, layer.cell.bias)]


def pack(values: list[int], bits: int) -> list[int]:
    mask = (1 << bits) - 1
    return [int(v) & mask for v in values]
