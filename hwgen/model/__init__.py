"""The executable spec of the hardware: what every backend is checked against.

- `lstm_stack`: the float LSTM stack (+ dense head) that a graph is recognised as;
- `integer_model`: the bit-exact integer model of the accelerator and the integer kernels;
- `fixed`: fixed-point formats, rounding shifts and σ/tanh tables shared by all of them;
- `kinds`: the weight / output / memory kind names, validated in one place;
- `ablation`: which rounding stage makes the integer model differ from the float one.

Nothing here transforms graphs (that is `hwgen.passes`) or builds hardware (`hwgen.hw`).
"""
