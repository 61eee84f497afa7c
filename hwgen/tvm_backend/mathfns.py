"""Vectorisable float32 exp, sigmoid and tanh as TIR expressions.

TVM lowers `T.exp`/`T.sigmoid`/`T.tanh` to scalar libm calls, which stops LLVM from
vectorising the LSTM cell update and costs ~10x there. These are the Cephes
single-precision algorithms (range reduction + minimax polynomial, ~1-2 ulp), built
from plain arithmetic and bit casts so every lane computes them in SIMD registers.
"""

from __future__ import annotations

from typing import Callable

from tvm import tirx

_F = "float32"


def _f(value: float) -> tirx.PrimExpr:
    return tirx.const(value, _F)


def _poly(x: tirx.PrimExpr, coefficients: tuple[float, ...]) -> tirx.PrimExpr:
    """Horner evaluation, highest power first."""
    acc = _f(coefficients[0])
    for c in coefficients[1:]:
        acc = acc * x + _f(c)
    return acc


def _let(name: str, value: tirx.PrimExpr, body: "Callable[[tirx.PrimExpr], tirx.PrimExpr]") -> tirx.PrimExpr:
    """Bind `value` once (a TIR Let) so a sub-expression used several times is computed once."""
    if isinstance(value, (tirx.Var, tirx.FloatImm, tirx.IntImm)):
        return body(value)
    var = tirx.Var(name, "float32")
    return tirx.Let(var, value, body(var))


def exp(x: tirx.PrimExpr) -> tirx.PrimExpr:
    """e**x for float32 x; inputs are clamped to [-87.3, 88.3] (results stay finite and normal)."""

    def reduced(xc: tirx.PrimExpr) -> tirx.PrimExpr:
        def scaled(n: tirx.PrimExpr) -> tirx.PrimExpr:
            def poly(r: tirx.PrimExpr) -> tirx.PrimExpr:
                p = _poly(r, (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
                              5.0000001201e-1))
                two_n = tirx.reinterpret(_F, tirx.shift_left(tirx.Cast("int32", n) + tirx.const(127, "int32"),
                                                             tirx.const(23, "int32")))
                return (p * r * r + r + _f(1.0)) * two_n

            return _let("exp_r", xc - n * _f(0.693359375) - n * _f(-2.12194440e-4), poly)

        return _let("exp_n", tirx.floor(xc * _f(1.44269504088896341) + _f(0.5)), scaled)

    return _let("exp_x", tirx.max(tirx.min(x, _f(88.3)), _f(-87.3)), reduced)


def sigmoid(x: tirx.PrimExpr) -> tirx.PrimExpr:
    return _f(1.0) / (_f(1.0) + exp(-x))


def tanh(x: tirx.PrimExpr) -> tirx.PrimExpr:
    """Odd polynomial below |x| = 0.625 (no cancellation near 0), 1 - 2/(e^2|x| + 1) above."""

    def body(v: tirx.PrimExpr) -> tirx.PrimExpr:
        a = tirx.abs(v)
        z = v * v
        small = _poly(z, (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1,
                          -3.33332819422e-1)) * z * v + v
        big = _let("tanh_big", _f(1.0) - _f(2.0) / (exp(a + a) + _f(1.0)), lambda b: tirx.Select(v < _f(0.0), -b, b))
        return tirx.Select(a < _f(0.625), small, big)

    return _let("tanh_x", x, body)
