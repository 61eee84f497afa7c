"""Memory images: how the integer model's numbers are laid out in the accelerator's memories.

Rows run in hardware order — unit-major, gates i, f, g, o (ONNX rows j, 2H+j, 3H+j, H+j;
a GRU's z, r, n: rows j, H+j, 2H+j) — so a unit's state update can start as soon as its
last row (o, or n) is done. A weight word holds
`lanes` codes of one row (lane i at bits [i·b, (i+1)·b)), input-part chunks first, then
hidden-part chunks; layer after layer. With `gate_rows=4` a word holds the same chunk of a
unit's four rows side by side (gate q's lane i at bits [(q·lanes + i)·b, ...)), words in unit
order, each unit's chunks in turn; with `gate_rows=2`, rows i, f side by side, then g, o. The same lists fill the Amaranth ROM `init`s and
the `$readmemh` files of `hwgen build --target rtl`.

Layer 0's input part is padded to `config.padded_input()` columns when lanes do not divide the
input: the pad columns meet pad slots of the x memory, which are never written and read 0, so
their product is 0 whatever the code. They hold `PAD_CODE` (0; binary, which has no 0, +1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hwgen.hw.lanes import WEIGHT_BITS, encode_code
from hwgen.model.gru import IntegerGRULayer, IntegerGRUModel
from hwgen.model.integer_model import IntegerModel

if TYPE_CHECKING:
    from hwgen.hw.config import AccelConfig
    from hwgen.model.saved import RecurrentModel


def onnx_rows(hidden: int, gates: int = 4) -> np.ndarray:
    """ONNX row index of each hardware row: LSTM (4 gates) unit j: i, f, g, o (ONNX i, o, f, c); GRU (3 gates) unit j:
    z, r, n (ONNX order, unchanged: n last, so its state update starts when the unit's z and r are known)."""
    j = np.arange(hidden)
    order = [j, 2 * hidden + j, 3 * hidden + j, hidden + j] if gates == 4 else [j, hidden + j, 2 * hidden + j]
    return np.stack(order, axis=1).reshape(-1)


def _gates(model: "RecurrentModel") -> int:
    return 3 if isinstance(model, IntegerGRUModel) else 4


#: The code in an input pad column, per weights kind (its product with the pad's x = 0 is 0 either way).
PAD_CODE = {"binary": 1, "ternary": 0, "int8": 0}


def weight_words(config: "AccelConfig", model: "RecurrentModel") -> list[int]:
    kind, lanes = config.weights_kind, config.lanes
    b = WEIGHT_BITS[kind]
    words = []
    for index, layer in enumerate(model.layers):
        w = layer.w_codes.astype(np.int64)
        pad = np.full((w.shape[0], config.padded_input(index) - w.shape[1]), PAD_CODE[kind], np.int64)
        codes = np.concatenate([w, pad, layer.r_codes], axis=1)[onnx_rows(layer.hidden, _gates(model))].astype(np.int64)
        rows = config.gate_rows  # rows side by side in a word: row q of the group at bits [q·lanes·b, (q+1)·lanes·b)
        for group in range(0, codes.shape[0], rows):
            for k in range(0, codes.shape[1], lanes):
                word = 0
                for q, row in enumerate(codes[group:group + rows]):
                    for i, c in enumerate(row[k:k + lanes]):
                        word |= encode_code(int(c), kind) << ((q * lanes + i) * b)
                words.append(word)
    return words


def head_words(config: "AccelConfig", model: "RecurrentModel") -> list[int]:
    """The dense head's weight words: output k's codes W[k, c·n .. (c+1)·n) (n = `config.head_products`, code i at
    bits [8i, 8i + 8)) at word k · H/n + c."""
    if model.head is None:
        return []
    lanes, w = config.head_products, model.head.weights.astype(np.int64)
    return [sum(encode_code(int(c), "int8") << (8 * i) for i, c in enumerate(row[j:j + lanes]))
            for row in w for j in range(0, w.shape[1], lanes)]


def row_params(model: "RecurrentModel") -> list[tuple[int, ...]]:
    """(mult_x, mult_h, bias) per hardware row, layer after layer; a GRU's rows add the reset bias (Rb_h on its n
    rows, 0 on z and r), which the affine adds to mult_h·acc_h apart from the rest (`hwgen.hw.gru_update`)."""
    out: list[tuple[int, ...]] = []
    for layer in model.layers:
        order = onnx_rows(layer.hidden, _gates(model))
        g = layer.gate
        if isinstance(layer, IntegerGRULayer):
            reset = np.concatenate([np.zeros(2 * layer.hidden, np.int64), layer.reset_bias])
            out += [(int(g.mult_x[r]), int(g.mult_h[r]), int(g.bias[r]), int(reset[r])) for r in order]
        else:
            out += [(int(g.mult_x[r]), int(g.mult_h[r]), int(g.bias[r])) for r in order]
    return out


def row_words(rows: list[tuple[int, ...]], mult_bits: int, bias_bits: int) -> list[int]:
    """The row-constant ROM's words: mult_x | mult_h << mult_bits | bias << 2·mult_bits (| reset bias << 2·mult_bits
    + bias_bits for a GRU), each field two's complement."""
    widths = (mult_bits, mult_bits, bias_bits, bias_bits)
    words = []
    for row in rows:
        word, at = 0, 0
        for value, bits in zip(row, widths):
            word |= (value & ((1 << bits) - 1)) << at
            at += bits
        words.append(word)
    return words


def cell_params(model: IntegerModel) -> list[tuple[int, int]]:
    """(cell mult, cell bias) per LSTM unit, layer after layer."""
    return [(int(m), int(b)) for layer in model.layers for m, b in zip(layer.cell.mult, layer.cell.bias)]


def pack(values: list[int], bits: int) -> list[int]:
    mask = (1 << bits) - 1
    return [int(v) & mask for v in values]
