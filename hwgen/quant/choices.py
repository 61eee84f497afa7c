"""The option values of training, in a module without torch so `hwgen --help` starts fast."""

TASKS = ("digits", "charlm")
WEIGHT_KINDS = ("float", "binary", "ternary")
QUANTIZERS = ("deterministic", "stochastic")
BN_X_MODES = ("shared", "per_step")
