"""IR dim expressions → TIR expressions over the Relax signature's size variables.

The lowering keeps symbolic sizes symbolic: an IR dim ``4*batch`` or ``(sequence + 1)//2`` becomes
the TIR expression over the int64 variables that stand for ``batch`` and ``sequence`` in "main", so
Relax's shape inference sees the same arithmetic the IR verified and one library runs every size.
"""

from __future__ import annotations

from typing import Callable, Union

import tvm

from hwgen.ir import dims as D

PrimLike = Union[int, "tvm.tirx.PrimExpr"]


def to_tir(d: D.Dim, name: Callable[[str], "tvm.tirx.PrimExpr"]) -> PrimLike:
    """`d` as an int or an int64 TIR expression; `name` gives each dim name's variable."""
    if isinstance(d, int):
        return d
    if isinstance(d, str):
        return name(d)
    total: PrimLike = 0
    for mono, coeff in d.terms:
        term: PrimLike = tvm.tirx.IntImm("int64", coeff)
        for atom in mono:
            if isinstance(atom, str):
                term = term * name(atom)
            else:
                term = term * tvm.tirx.floordiv(to_tir(atom.num, name), tvm.tirx.IntImm("int64", atom.den))
        total = term if isinstance(total, int) and total == 0 else total + term
    return total
