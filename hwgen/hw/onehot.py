"""A one-hot state machine: one flop per state, for control logic that must clock fast on an iCE40.

Amaranth's ``m.FSM`` keeps a binary state number, and yosys does not re-encode it (the
register has an initial value), so every next-state and enable decision first decodes the
number: two LUT levels before the condition logic even starts, on the host link's
critical path. Here each state is one flop; a transition clears the current state's flop
and sets the target's, so a state's next value depends only on the states that enter or
leave it.

Use it like ``m.FSM``, with one rule the binary FSM does not have: in one cycle a state
takes at most one transition (a later ``next`` does not cancel an earlier one), so write
mutually exclusive conditions.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

from amaranth.hdl import Module, Signal


class OneHotFSM:
    """States `names` (the first is the initial one) as flops ``{prefix}_{name}``."""

    def __init__(self, m: Module, names: Sequence[str], prefix: str) -> None:
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"state names must be distinct and non-empty: {list(names)}")
        self.m = m
        self.bits = {n: Signal(name=f"{prefix}_{n.lower()}", init=int(i == 0)) for i, n in enumerate(names)}
        self._current: str | None = None
        self._groups: list[tuple[Signal, frozenset[str]]] = []

    def group(self, name: str, states: Sequence[str]) -> Signal:
        """A flop that is high while the machine is in any of `states` (set and cleared by the transitions
        that enter and leave the set): one flop to read instead of an OR over the states' flops.
        Declare groups before the states' logic."""
        unknown = set(states) - set(self.bits)
        if unknown or self._current is not None:
            raise ValueError(f"group {name}: unknown states {sorted(unknown)} or declared inside a state")
        initial = next(iter(self.bits))
        sig = Signal(name=name, init=int(initial in states))
        self._groups.append((sig, frozenset(states)))
        return sig

    def ongoing(self, name: str) -> Signal:
        """High while the machine is in state `name` (one flop)."""
        return self.bits[name]

    @contextmanager
    def state(self, name: str) -> Iterator[None]:
        """The logic of state `name` (like ``with m.State(name)``)."""
        if self._current is not None:
            raise ValueError(f"state {name} opened inside state {self._current}")
        self._current = name
        try:
            with self.m.If(self.bits[name]):
                yield
        finally:
            self._current = None

    def next(self, name: str) -> None:
        """Go to state `name` at the next clock edge (inside ``state`` and the conditions of the transition)."""
        if self._current is None:
            raise ValueError(f"next({name!r}) outside a state")
        if name != self._current:
            self.m.d.sync += [self.bits[self._current].eq(0), self.bits[name].eq(1)]
            self.m.d.sync += [sig.eq(name in states) for sig, states in self._groups
                              if (name in states) != (self._current in states)]
