"""Option values of the TVM target, in a module without tvm so `hwgen --help` starts fast."""

CPUS: tuple[str, ...] = ("host", "aarch64")
ACTIVATIONS: tuple[str, ...] = ("f32", "int8")
