"""The surprisal gate of an exported small/big char-LM pair, as ONNX `metadata_props`.

`hwgen.quant.surprisal_gating.export_pair` writes small.onnx and big.onnx, two plain char-LMs, each
carrying every key below (`role` says which one it is); the gated accelerator build
(`hwgen.rtl.gated`) reads them back. ONNX has per-step control flow only as Loop/If around a
hand-unrolled cell, which neither onnxruntime's LSTM kernels nor hwgen's recogniser would see as
LSTMs, so the gate travels as metadata beside two standard models.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import onnx

from hwgen.errors import HwgenError

#: ONNX metadata keys of an exported pair (each file carries all of them; `role` says which it is).
GATE_KEYS = ("hwgen.gate.role", "hwgen.gate.rule", "hwgen.gate.threshold_codes", "hwgen.gate.threshold_logit")
GATE_RULE = "margin-v1: the big model runs step t iff t == 0 or max(s_{t-1}) - s_{t-1}[x_t] > threshold"
ROLES = ("small", "big")


@dataclass(frozen=True)
class GateMetadata:
    """One file's gate metadata: its role, the rule, the threshold in the small model's integer logit codes
    (as exported, with the default lowering) and in float logits."""

    role: str
    rule: str
    threshold_codes: int
    threshold_logit: float

    def threshold_for(self, small_output_scale: float) -> int:
        """The threshold in the codes of a small model lowered with this output scale: the largest integer margin
        not above `threshold_logit` (integer margins m satisfy m > that iff m·scale > threshold_logit)."""
        return max(0, math.floor(self.threshold_logit / small_output_scale + 1e-9))


def read_gate(path: str | os.PathLike) -> dict[str, str]:
    """The gate metadata of one exported model of a pair; a clear error when it has none."""
    props = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
    missing = [k for k in GATE_KEYS if k not in props]
    if missing:
        raise HwgenError(f"{path}: not one of a surprisal-gated pair (metadata lacks {', '.join(missing)})")
    return {k: props[k] for k in GATE_KEYS}


def gate_metadata(path: str | os.PathLike, role: str) -> GateMetadata:
    """`read_gate`, checked and typed: `path` must be the `role` model of a pair under the rule hwgen builds."""
    props = read_gate(path)
    role_given, rule = props["hwgen.gate.role"], props["hwgen.gate.rule"]
    if role_given not in ROLES:
        raise HwgenError(f"{path}: hwgen.gate.role is {role_given!r}; supported: {', '.join(ROLES)}")
    if role_given != role:
        raise HwgenError(f"{path}: is the {role_given} model of its pair, expected the {role} one "
                         f"(hwgen build SMALL.onnx --gated-with BIG.onnx)")
    if rule != GATE_RULE:
        raise HwgenError(f"{path}: gate rule {rule!r} is not supported; supported: {GATE_RULE!r}")
    try:
        codes, logit = int(props["hwgen.gate.threshold_codes"]), float(props["hwgen.gate.threshold_logit"])
    except ValueError:
        raise HwgenError(f"{path}: the gate threshold is not a number (threshold_codes "
                         f"{props['hwgen.gate.threshold_codes']!r}, threshold_logit "
                         f"{props['hwgen.gate.threshold_logit']!r})") from None
    if codes < 0 or not math.isfinite(logit) or logit < 0:
        raise HwgenError(f"{path}: the gate threshold must be >= 0 and finite, got {codes} codes, {logit} logits")
    return GateMetadata(role_given, rule, codes, logit)
