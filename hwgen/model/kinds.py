"""The spec's kind names, each a Literal type with its allowed values, validated in one place.

Kinds stay plain strings (they appear in manifests, .npz files and CLI flags), but every
module names them through these types and checks them with `check_kind`, so a misspelt
kind is refused with the list of allowed ones instead of silently taking a default branch.
"""

from __future__ import annotations

from typing import Iterable, Literal, TypeVar, get_args

from hwgen.errors import HwgenError

#: Weight kinds of the integer model: codes in {-1, +1}, {-1, 0, +1}, or int8 (the MAC baseline).
WeightsKind = Literal["binary", "ternary", "int8"]
#: A recognised float layer may also hold arbitrary float weights (TVM float kernels only).
LayerKind = Literal["binary", "ternary", "int8", "float"]
#: Which steps produce outputs: the last (a classifier) or every step (a language model).
OutputSteps = Literal["last", "every_step"]
#: What the output is: head logits, or the top layer's hidden state without a head.
OutputMode = Literal["logits", "hidden"]
#: Where the accelerator keeps weights: logic ROM, block RAM (preloaded) or SPRAM (uploaded at start-up).
WeightMemory = Literal["registers", "ebr", "spram"]
#: Which weights the accelerator computes with: the model's own codes, or int8 with multipliers.
AccelWeights = Literal["auto", "int8"]

WEIGHTS_KINDS: tuple[str, ...] = get_args(WeightsKind)
LAYER_KINDS: tuple[str, ...] = get_args(LayerKind)
OUTPUT_STEPS: tuple[str, ...] = get_args(OutputSteps)
OUTPUT_MODES: tuple[str, ...] = get_args(OutputMode)
WEIGHT_MEMORIES: tuple[str, ...] = get_args(WeightMemory)
ACCEL_WEIGHTS: tuple[str, ...] = get_args(AccelWeights)

K = TypeVar("K", bound=str)


def check_kind(what: str, value: str, allowed: tuple[str, ...], error: type[Exception] = HwgenError) -> str:
    """`value` if it is one of `allowed`, else `error` naming `what` and the allowed values."""
    if value not in allowed:
        raise error(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


def stack_kind(layer_kinds: Iterable[LayerKind]) -> LayerKind:
    """A stack's weight kind: its widest layer's (float > int8 > ternary > binary), as the lowering treats it."""
    kinds = set(layer_kinds)
    for k in ("float", "int8", "ternary", "binary"):
        if k in kinds:
            return k  # type: ignore[return-value]
    raise HwgenError(f"no known layer kind among {sorted(kinds)}")
