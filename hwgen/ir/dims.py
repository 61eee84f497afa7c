"""Symbolic dimension expressions: sizes like ``batch*sequence``, ``4*sequence + 1`` or ``sequence//2``.

Exported models compute shapes from their inputs' sizes (Shape → Gather → Concat → Reshape), so a
model with a dynamic batch or sequence needs sizes that are arithmetic over named dims, not only
names. A `Dim` is an `int`, a `str` (one named dim, e.g. ``"batch"``) or a `DimExpr`: an integer
polynomial over names and floor-divisions by constants, kept in one canonical form so that equal
expressions compare equal (``2*b*s`` built as ``(b*s)*2`` or ``s*(2*b)`` is the same value) and
hash alike. Every operation returns the simplest spelling: an `int` when the value is constant, a
`str` when it is one plain name, a `DimExpr` otherwise, so existing ``isinstance(d, int)`` checks
for "static" keep working. Names stand for sizes (non-negative integers); that is what lets
`dims_differ` prove ``sequence + 1 != 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

from hwgen.errors import IRError


class DimError(IRError):
    """A dimension expression hwgen cannot form (e.g. a division by a symbolic size that does not divide)."""


@dataclass(frozen=True)
class FloorDiv:
    """``num // den`` for a symbolic `num` that `den` (an int > 1) does not divide term by term."""

    num: "DimExpr"
    den: int

    def __str__(self) -> str:
        inner = str(self.num)
        return f"{inner if _is_atom_text(self.num) else f'({inner})'}//{self.den}"


Atom = Union[str, FloorDiv]
Monomial = tuple  # sorted tuple of atoms (repeats for powers); () is the constant term


def _atom_key(atom: Atom) -> tuple[int, str]:
    return (0, atom) if isinstance(atom, str) else (1, str(atom))


def _mono_key(mono: Monomial) -> tuple:
    return (len(mono), tuple(_atom_key(a) for a in mono))


@dataclass(frozen=True)
class DimExpr:
    """Σ coefficient × Π atoms, terms sorted, no zero coefficients: the canonical form (so == is value equality)."""

    terms: tuple[tuple[Monomial, int], ...]

    def __str__(self) -> str:
        out = ""
        for mono, coeff in sorted(self.terms, key=lambda t: (-len(t[0]), _mono_key(t[0]))):
            factors = ([str(abs(coeff))] if abs(coeff) != 1 or not mono else []) + [str(a) for a in mono]
            text = "*".join(factors)
            out += (f" - {text}" if out else f"-{text}") if coeff < 0 else (f" + {text}" if out else text)
        return out or "0"


Dim = Union[int, str, DimExpr]


def _is_atom_text(e: DimExpr) -> bool:
    return len(e.terms) == 1 and e.terms[0][1] == 1 and len(e.terms[0][0]) == 1


def lift(d: Dim) -> DimExpr:
    """Any dim as a DimExpr (the form arithmetic works on)."""
    if isinstance(d, DimExpr):
        return d
    if isinstance(d, bool) or not isinstance(d, (int, str)):
        if hasattr(d, "__index__"):
            d = int(d)  # numpy integers
        else:
            raise DimError(f"{d!r} is not a dimension")
    if isinstance(d, int):
        return DimExpr(((( ), d),)) if d else DimExpr(())
    return DimExpr((((d,), 1),))


def _make(terms: Mapping[Monomial, int]) -> Dim:
    """The simplest spelling of a polynomial: int, plain name, or canonical DimExpr."""
    kept = sorted(((m, c) for m, c in terms.items() if c), key=lambda t: _mono_key(t[0]))
    if not kept:
        return 0
    if len(kept) == 1:
        mono, coeff = kept[0]
        if not mono:
            return coeff
        if coeff == 1 and len(mono) == 1 and isinstance(mono[0], str):
            return mono[0]
    return DimExpr(tuple(kept))


def simplify(d: Dim) -> Dim:
    return _make(dict(lift(d).terms))


def add(a: Dim, b: Dim) -> Dim:
    terms = dict(lift(a).terms)
    for mono, coeff in lift(b).terms:
        terms[mono] = terms.get(mono, 0) + coeff
    return _make(terms)


def neg(a: Dim) -> Dim:
    return _make({m: -c for m, c in lift(a).terms})


def sub(a: Dim, b: Dim) -> Dim:
    return add(a, neg(b))


def mul(a: Dim, b: Dim) -> Dim:
    terms: dict[Monomial, int] = {}
    for ma, ca in lift(a).terms:
        for mb, cb in lift(b).terms:
            mono = tuple(sorted(ma + mb, key=_atom_key))
            terms[mono] = terms.get(mono, 0) + ca * cb
    return _make(terms)


def product(dims: "tuple[Dim, ...] | list[Dim]") -> Dim:
    out: Dim = 1
    for d in dims:
        out = mul(out, d)
    return out


def _divide_monomial(mono: Monomial, by: Monomial) -> "Monomial | None":
    rest = list(mono)
    for atom in by:
        if atom not in rest:
            return None
        rest.remove(atom)
    return tuple(rest)


def floordiv(a: Dim, b: Dim) -> Dim:
    """``a // b``. Exact when `b` divides every term; a constant `b` that does not leaves a `FloorDiv`
    atom for the remainder terms; a symbolic `b` that does not divide raises DimError."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    den = lift(b)
    if len(den.terms) != 1:
        raise DimError(f"cannot divide {a} by {b} (a sum)")
    (by, coeff), = den.terms
    if coeff == 0:
        raise DimError(f"division of {a} by 0")
    exact: dict[Monomial, int] = {}
    rest: dict[Monomial, int] = {}
    for mono, c in lift(a).terms:
        quotient = _divide_monomial(mono, by)
        if quotient is not None and c % coeff == 0:
            exact[quotient] = exact.get(quotient, 0) + c // coeff
        else:
            rest[mono] = c
    if not rest:
        return _make(exact)
    if by:
        raise DimError(f"cannot divide {a} by {b} exactly")
    remainder = _make(rest)
    if isinstance(remainder, int):
        return add(_make(exact), remainder // coeff)
    if coeff < 0:
        return floordiv(neg(a), neg(b))
    return add(_make(exact), _atom(FloorDiv(lift(remainder), coeff)))


def _atom(atom: FloorDiv) -> DimExpr:
    return DimExpr((((atom,), 1),))


def ceildiv(a: Dim, b: Dim) -> Dim:
    return neg(floordiv(neg(a), b))


def names(d: Dim) -> set[str]:
    """The dim names `d` is made of."""
    out: set[str] = set()
    for mono, _ in lift(d).terms:
        for atom in mono:
            out |= {atom} if isinstance(atom, str) else names(atom.num)
    return out


def evaluate(d: Dim, bindings: Mapping[str, int]) -> int:
    """The size `d` stands for when its names take the sizes in `bindings` (DimError names a missing one)."""
    if isinstance(d, int):
        return d
    total = 0
    for mono, coeff in lift(d).terms:
        value = coeff
        for atom in mono:
            if isinstance(atom, str):
                if atom not in bindings:
                    raise DimError(f"dimension {atom!r} has no size (bound: {', '.join(sorted(bindings)) or 'none'})")
                value *= int(bindings[atom])
            else:
                value *= evaluate(atom.num, bindings) // atom.den
        total += value
    return total


def substitute(d: Dim, bindings: Mapping[str, int]) -> Dim:
    """`d` with the bound names replaced by their sizes (the others stay symbolic)."""
    if isinstance(d, int):
        return d
    total: Dim = 0
    for mono, coeff in lift(d).terms:
        term: Dim = coeff
        for atom in mono:
            if isinstance(atom, str):
                term = mul(term, int(bindings[atom]) if atom in bindings else atom)
            else:
                term = mul(term, floordiv(substitute(atom.num, bindings), atom.den))
        total = add(total, term)
    return total


def nonnegative(d: Dim) -> bool:
    """Provably >= 0 for every size of its names: every coefficient and the constant >= 0, and every monomial
    >= 0 (a name is a size; `num // den` is >= 0 when `num` is; an atom of unknown sign only to an even power)."""
    return all(c >= 0 and _monomial_nonnegative(m) for m, c in lift(d).terms)


def _monomial_nonnegative(mono: Monomial) -> bool:
    unknown = [atom for atom in mono if isinstance(atom, FloorDiv) and not nonnegative(atom.num)]
    return all(unknown.count(atom) % 2 == 0 for atom in unknown)


def dims_differ(a: Dim, b: Dim) -> bool:
    """Provably different for every size of the names: the difference is a non-zero constant, or
    has only non-negative terms and a positive constant (or the negation does)."""
    diff = sub(a, b)
    if isinstance(diff, int):
        return diff != 0
    for e in (diff, neg(diff)):
        constant = dict(lift(e).terms).get((), 0)
        if constant > 0 and nonnegative(e):
            return True
    return False


def is_symbolic(d: Dim) -> bool:
    return not isinstance(d, int)
