"""The option values of training, in a module without torch so `hwgen --help` starts fast."""

TASKS = ("digits", "charlm")
WEIGHT_KINDS = ("float", "binary", "ternary")
QUANTIZERS = ("deterministic", "stochastic")
BN_X_MODES = ("shared", "per_step")
LR_SCHEDULES = ("constant", "cosine")


def check_choices(task: str, weights: str, quantizer: str) -> None:
    """Raise QuantConfigError naming the first unknown task, weight kind or quantizer."""
    from hwgen.quant.errors import QuantConfigError

    for what, value, allowed in (("task", task, TASKS), ("weight kind", weights, WEIGHT_KINDS),
                                 ("quantizer", quantizer, QUANTIZERS)):
        if value not in allowed:
            raise QuantConfigError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")

#: Transformer options (`hwgen train transformer`).
TRANSFORMER_WEIGHTS = ("float", "int8", "ternary", "binary")
EMBEDDING_KINDS = ("float", "int8")
PRUNE_METHODS = ("none", "magnitude", "structured")
DISTILL_METHODS = ("none", "kd", "bdkd", "ceskd")

