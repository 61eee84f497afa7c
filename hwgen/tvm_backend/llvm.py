"""The LLVM target of each `--cpu` and the compile step every TVM build shares."""

from __future__ import annotations

import ctypes
import platform
from functools import lru_cache
from pathlib import Path
from typing import Any

import tvm

from hwgen.tvm_backend.errors import TVMBackendError
from hwgen.tvm_backend.options import CPUS


#: Host CPUs whose LLVM scheduling model serves the packed kernels badly, and the tuning used
#: instead (same ISA). znver1: its model spills the unrolled packed matvec; generic AVX2
#: (x86-64-v3) tuning runs it ~17% faster on a Zen 1 EPYC (measured with the benchmark's matvec).
TUNING_OVERRIDES = {"znver1": "x86-64-v3"}


def host_mcpu() -> str:
    cpu = tvm.target.codegen.llvm_get_system_cpu()
    return TUNING_OVERRIDES.get(cpu, cpu)


#: Linux x86-64: SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA (a process may use AMX tiles only after
#: asking for their state).
SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA = 158, 0x1023, 18
#: LLVM features of the AMX int8 tile kernels (`amx_kernels`).
AMX_FEATURES = ("amx-tile", "amx-int8")


@lru_cache(maxsize=1)
def host_has_amx() -> bool:
    """Whether this x86-64 Linux host has AMX-INT8 and lets this process use it: the CPU flags, then the OS's
    permission. /proc/cpuinfo decides, not LLVM's host CPU name, which lacks the features on some virtual machines
    (a Sapphire Rapids guest reported as "rocketlake")."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return False
    try:
        flags = next((ln.split(":", 1)[1].split() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("flags")), [])
    except OSError:
        return False
    if not {"amx_tile", "amx_int8"} <= set(flags):
        return False
    return ctypes.CDLL(None).syscall(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0


def llvm_target(cpu: str) -> dict[str, Any]:
    """The TVM target dict for `cpu`: the host's own CPU model (plus AMX where the host has it and LLVM's CPU name
    does not say so), or a generic 64-bit Arm with NEON."""
    if cpu == "host":
        target: dict[str, Any] = {"kind": "llvm", "mtriple": _host_triple(), "mcpu": host_mcpu()}
        if host_has_amx():
            target["mattr"] = [f"+{f}" for f in AMX_FEATURES]
        return target
    if cpu == "aarch64":
        return {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mcpu": "cortex-a72", "mattr": ["+neon"]}
    raise TVMBackendError(f"cpu {cpu!r} is not one of {', '.join(CPUS)}")


def _host_triple() -> str:
    # The wheel's LLVM reports the conda triple it was built with; the plain GNU triple is the same ABI.
    triple = tvm.target.codegen.llvm_get_system_triple()
    arch = triple.split("-", 1)[0]
    return f"{arch}-linux-gnu" if "linux" in triple else triple


#: TIR's storage rewrite merges the kernels' small accumulator buffers into one big workspace
#: allocation, which TVM then takes from the heap instead of the stack, and LLVM stores the
#: accumulators back to memory after every FMA (the recurrence ran 1.66x slower at H=256).
PASS_CONFIG = {"tirx.disable_storage_rewrite": True}


#: relax's OpPatternKind kOpaque: never fused with its neighbours.
OPAQUE = 8


def _mark_scheduled(module: tvm.IRModule) -> tvm.IRModule:
    """hwgen's own kernels (every PrimFunc before legalisation) are scheduled: the default rules skip them,
    and opaque: operator fusion leaves them whole (fusing an element-wise epilogue into a hand-scheduled
    kernel fails in FuseTIR, and would undo its schedule)."""
    for gvar, func in list(module.functions_items()):
        if isinstance(func, tvm.tirx.PrimFunc):
            module[gvar] = func.with_attrs({"tirx.is_scheduled": True, "op_pattern": OPAQUE})
    return module


def pipeline(target: tvm.target.Target, fuse: bool = True) -> tvm.transform.Pass:
    """TVM's CPU pipeline (operator fusion when `fuse`) with one step added after legalisation: the operators
    Relax legalised (softmax, LayerNorm, attention matmuls, element-wise) get `schedules`' default CPU
    schedules instead of TVM's untuned loop nests (and erf and softmax their vectorisable forms, `schedules.fast_math`);
    hwgen's own kernels keep theirs."""
    from tvm import relax
    from tvm.relax.backend.cpu_generic import pipeline as cpu

    from hwgen.tvm_backend.schedules import default_schedules, fast_math

    legalize = cpu.legalize_passes(target) if fuse else [relax.transform.LegalizeOps()]

    @tvm.transform.module_pass(opt_level=0, name="HwgenPipeline")
    def _pipeline(module: tvm.IRModule, _ctx: tvm.transform.PassContext) -> tvm.IRModule:
        with target:
            passes = ([fast_math] + cpu.library_dispatch_passes(target) + legalize + [default_schedules()]
                      + cpu.dataflow_lower_passes(target) + cpu.finalize_passes(target))
            return tvm.transform.Sequential(passes)(_mark_scheduled(module))

    return _pipeline


def compile_module(module: tvm.IRModule, cpu: str = "host") -> tvm.runtime.Executable:
    """tvm.compile for `cpu` with the backend's pass configuration and `pipeline`. TVM 0.27's FuseOps fails
    on some symbolic shapes (a slice from the end of a symbolic axis: no type rule for if_then_else); such
    modules compile unfused, which is slower, never different."""
    target = tvm.target.Target(llvm_target(cpu))
    with tvm.transform.PassContext(config=PASS_CONFIG):
        try:
            return tvm.compile(module, target=target, relax_pipeline=pipeline(target))
        except tvm.error.InternalError as err:
            if "FInferType" not in str(err):
                raise
            return tvm.compile(module, target=target, relax_pipeline=pipeline(target, fuse=False))
