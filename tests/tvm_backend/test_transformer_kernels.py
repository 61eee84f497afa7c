"""Linear layers of transformer encoders on the scheduled TVM kernels (`hwgen.tvm_backend.linear`).

fp32: a tiny random-init BERT classifier built once with symbolic batch and sequence matches
onnxruntime within 1e-4 at two lengths, every Linear on the projection kernels. int8 activations:
one Linear (MatMul of DequantizeLinear codes) is bit-exact with the numpy integer reference of the
same arithmetic (per-token scales, int32 sums) for ternary, binary and int8 codes, on the AVX2
kernels and on the float-panel ones (integer-valued floats, exact below 2**24), also for AArch64
under qemu-user. What the int8 kernels cannot
take exactly is refused by node.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from hwgen.cli import main
from hwgen.frontend import load_graph
from hwgen.ir.graph import Graph
from hwgen.tvm_backend import TvmOptions, build, linear, qemu, quad_kernels, runner
from hwgen.tvm_backend.errors import TVMUnsupportedError
from hwgen.tvm_backend.library import compile_lowered, manifest_for
from hwgen.tvm_backend.llvm import llvm_target
from hwgen.tvm_backend.lower import lower_graph
from tests.frontend import bert_export

K, N = 40, 24  # K not a multiple of any packing block, N not of a panel: the kernels pad both


def codes_of(kind: str, rng: np.random.Generator) -> np.ndarray:
    values = {"ternary": [-1, 0, 1], "binary": [-1, 1], "int8": list(range(-127, 128))}[kind]
    return rng.choice(values, size=(K, N)).astype(np.int8)


def linear_model(path: Path, codes: np.ndarray, scale: np.ndarray, bias: np.ndarray, zero_point=None) -> Path:
    """y[batch, seq, N] = x[batch, seq, K] @ DequantizeLinear(codes, scale, zero_point, axis=1) + bias."""
    inits = [numpy_helper.from_array(codes, "codes"), numpy_helper.from_array(scale, "scale"),
             numpy_helper.from_array(bias, "bias")]
    dq_inputs = ["codes", "scale"]
    if zero_point is not None:
        inits.append(numpy_helper.from_array(zero_point, "zp"))
        dq_inputs.append("zp")
    nodes = [helper.make_node("DequantizeLinear", dq_inputs, ["w"], name="w_dequant", axis=1),
             helper.make_node("MatMul", ["x", "w"], ["xw"], name="fc"),
             helper.make_node("Add", ["xw", "bias"], ["y"], name="fc_bias")]
    k, n = codes.shape
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", k])
    graph = helper.make_graph(nodes, "linear", [x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", n])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save(model, str(path))
    return path


def activations(batch: int, seq: int, seed: int, k: int = K) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(batch, seq, k)).astype(np.float32)
    x[0, 0] = 0  # an all-zero token: scale 1, codes 0
    x[-1, -1, :3] = [1e3, -1e3, 0.5]  # a token whose peak crushes its other codes
    return x


def compiled(graph: Graph, simd: str) -> runner.Compiled:
    lowered = lower_graph(graph, int8_activations=True, simd=simd)
    return runner.from_executable(compile_lowered(lowered), manifest_for(lowered, "host"))


HOST_SIMD = quad_kernels.simd_level(llvm_target("host"))
AVX2 = HOST_SIMD != "portable"


@pytest.mark.parametrize("kind", ["ternary", "binary", "int8"])
@pytest.mark.parametrize("simd", quad_kernels.SIMD_LEVELS)
def test_int8_linear_is_bit_exact_with_the_integer_reference(kind: str, simd: str, tmp_path: Path) -> None:
    if quad_kernels.SIMD_LEVELS.index(simd) > quad_kernels.SIMD_LEVELS.index(HOST_SIMD):
        pytest.skip(f"the host has no {simd}")
    rng = np.random.default_rng(3)
    codes = codes_of(kind, rng)
    scale = rng.uniform(0.01, 0.1, N).astype(np.float32)
    bias = rng.normal(size=N).astype(np.float32)
    model = compiled(load_graph(linear_model(tmp_path / "fc.onnx", codes, scale, bias)), simd)
    [kernel] = model.manifest["linear_kernels"]
    assert (kernel["weights"], kernel["activations"]) == (kind, "int8")
    assert kernel["kernel"] == ("amx" if simd == "amx" else "projection" if simd == "portable" or kind == "int8"
                                else "quad")
    assert kernel["simd"] == simd
    for batch, seq in ((1, 5), (3, 11)):  # one build, symbolic batch and sequence
        x = activations(batch, seq, seed=seq)
        want = linear.reference_int8(x.reshape(-1, K), codes, scale, bias).reshape(batch, seq, N)
        np.testing.assert_array_equal(model({"x": x})["y"], want)


@pytest.mark.skipif(not AVX2, reason="the host has no AVX2")
def test_quad_linear_quantises_a_k_beyond_whole_vectors_exactly(tmp_path: Path) -> None:
    """K = 43: the fused x86 kernel's peak and rounding loops run whole vectors and a tail (5 x 8 + 3 on AVX2,
    2 x 16 + 11 on AVX-512 and AMX, whose tiles also see K padded to 64 with zeros)."""
    rng = np.random.default_rng(5)
    codes = rng.choice([-1, 0, 1], size=(43, N)).astype(np.int8)
    scale, bias = rng.uniform(0.01, 0.1, N).astype(np.float32), rng.normal(size=N).astype(np.float32)
    model = compiled(load_graph(linear_model(tmp_path / "fc.onnx", codes, scale, bias)), HOST_SIMD)
    assert model.manifest["linear_kernels"][0]["kernel"] == ("amx" if HOST_SIMD == "amx" else "quad")
    x = activations(2, 7, seed=1, k=43)
    x[1, 3, 42] = -50.0  # the peak of a token in the tail
    want = linear.reference_int8(x.reshape(-1, 43), codes, scale, bias).reshape(2, 7, N)
    np.testing.assert_array_equal(model({"x": x})["y"], want)


def test_int8_weights_beyond_the_exact_float_length_are_summed_in_parts(tmp_path: Path) -> None:
    """K = 1101 > EXACT_K with every product at +-127 * 127: column 0 of token 0 sums to 1101 * 16129, odd and
    above 2**24, which one float32 sum cannot hold."""
    k = 1101
    codes = np.full((k, 8), 127, np.int8)
    codes[::3, 1:] = -127
    scale, bias = np.full(8, 1e-3, np.float32), np.zeros(8, np.float32)
    x = np.full((1, 2, k), 0.5, np.float32)
    x[0, 1, ::2] = -0.5
    inits = [numpy_helper.from_array(codes, "codes"), numpy_helper.from_array(scale, "scale")]
    graph = helper.make_graph([helper.make_node("DequantizeLinear", ["codes", "scale"], ["w"], name="dq", axis=1),
                               helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "wide",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "seq", k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "seq", 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save(model, str(tmp_path / "wide.onnx"))
    assert linear.EXACT_K < k < 2 * linear.EXACT_K  # two parts
    got = compiled(load_graph(tmp_path / "wide.onnx"), "portable")({"x": x})["y"]
    np.testing.assert_array_equal(got, linear.reference_int8(x.reshape(-1, k), codes, scale, bias).reshape(1, 2, 8))


def test_int8_reference_is_the_integer_arithmetic() -> None:
    """The reference itself: per-token codes within +-127, the peak at +-127, products summed as integers."""
    rng = np.random.default_rng(0)
    x = activations(1, 4, 0).reshape(-1, K)
    codes = codes_of("int8", rng)
    peak = np.abs(x).max(axis=1, keepdims=True)
    scale = np.where(peak == 0, 1, peak / 127).astype(np.float32)
    q = np.clip(np.rint(x / scale), -127, 127)
    assert np.abs(q).max() == 127 and np.all(q[0] == 0)
    got = linear.reference_int8(x, codes, np.ones(N, np.float32), np.zeros(N, np.float32))
    np.testing.assert_array_equal(got, (q.astype(np.int64) @ codes.astype(np.int64)).astype(np.float32) * scale)


def tiny_classifier(kind: str) -> tuple[torch.nn.Module, onnx.ModelProto]:
    from transformers import BertConfig, BertModel

    from hwgen.quant.transformer_export import to_onnx
    from hwgen.quant.transformer_model import TextClassifier
    from hwgen.quant.transformer_quant import quantize_encoder

    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=64)
    model = TextClassifier(BertModel(config, add_pooling_layer=False), 3).eval()
    if kind != "float":
        quantize_encoder(model.encoder, kind, embeddings="int8")
    return model, to_onnx(model)


def tokens(batch: int, seq: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seq)
    mask = np.ones((batch, seq), np.int64)
    mask[-1, seq // 2 :] = 0
    return {"input_ids": rng.integers(1, 100, (batch, seq)).astype(np.int64), "attention_mask": mask}


def test_fp32_bert_matches_onnxruntime_at_two_lengths_of_one_build(tmp_path: Path) -> None:
    from tests.frontend.test_whole_models import onnxruntime

    path = bert_export.export(bert_export.tiny_bert(), tmp_path / "bert.onnx", dynamo=False)
    artifact = build(load_graph(path), tmp_path / "build")
    assert artifact.symbolic_dims == ["batch", "sequence"]
    kernels = artifact.manifest["linear_kernels"]
    assert len(kernels) == 2 * 6 + 1 and {k["kernel"] for k in kernels} == {"projection"}  # 6 per layer + the head
    model = runner.load(artifact.out)
    for batch, seq in ((2, 7), (1, 19)):
        feeds = bert_export.tokens(batch, seq, 500, seed=seq)
        assert float(np.abs(model(feeds)["logits"] - onnxruntime(path, feeds)).max()) <= 1e-4


@pytest.mark.parametrize("kind", ["ternary"])
def test_compressed_bert_with_int8_activations_tracks_pytorch(kind: str, tmp_path: Path) -> None:
    """hwgen-exported compressed encoder: Linear layers on the int8 kernels, logits within the int8
    activation error of the PyTorch model; the f32 build of the same file within 1e-4."""
    model, proto = tiny_classifier(kind)
    onnx.save(proto, tmp_path / "m.onnx")
    graph = load_graph(tmp_path / "m.onnx")
    int8 = runner.load(build(graph, tmp_path / "int8", TvmOptions(activations="int8")).out)
    f32 = build(graph, tmp_path / "f32")
    assert {k["weights"] for k in f32.manifest["linear_kernels"][:-1]} == {kind}  # packed/int8 panels, not float
    assert int8.manifest["kernel_variant"] == f"{kind}-int8act"
    for batch, seq in ((2, 9), (1, 30)):
        feeds = tokens(batch, seq)
        with torch.no_grad():
            want = model(torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"])).numpy()
        assert float(np.abs(runner.load(f32.out)(feeds)["logits"] - want).max()) <= 1e-4
        assert float(np.abs(int8(feeds)["logits"] - want).max()) <= 0.02 * float(np.abs(want).max())


def test_weight_zero_point_is_refused_for_int8_activations_and_exact_for_f32(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    codes, scale = codes_of("int8", rng), np.full(N, 0.05, np.float32)
    path = linear_model(tmp_path / "zp.onnx", codes, scale, np.zeros(N, np.float32), np.full(N, 3, np.int8))
    with pytest.raises(TVMUnsupportedError, match="'w_dequant'.*zero point 0.*zero point \\[3\\]"):
        lower_graph(load_graph(path), int8_activations=True)
    assert main(["build", str(path), "--target", "tvm", "--tvm-activations", "int8", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "w_dequant" in err and "Traceback" not in err
    f32 = runner.load(build(load_graph(path), tmp_path / "f32").out)  # float activations: folded, exact semantics
    x = activations(2, 3, 0)
    np.testing.assert_allclose(f32({"x": x})["y"], x @ ((codes.astype(np.float32) - 3) * scale), rtol=1e-5, atol=1e-3)


def test_uint8_weight_codes_are_refused_for_int8_activations(tmp_path: Path) -> None:
    codes = np.random.default_rng(2).integers(0, 255, (K, N)).astype(np.uint8)
    path = linear_model(tmp_path / "u8.onnx", codes, np.full(N, 0.01, np.float32), np.zeros(N, np.float32))
    with pytest.raises(TVMUnsupportedError, match="'w_dequant'.*int8 weight codes, not uint8"):
        lower_graph(load_graph(path), int8_activations=True)


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None, reason="needs gcc-aarch64-linux-gnu (make install)")
def test_aarch64_int8_linear_runs_the_portable_kernels_under_qemu(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    codes, scale, bias = codes_of("ternary", rng), rng.uniform(0.01, 0.1, N).astype(np.float32), np.zeros(N, np.float32)
    path = linear_model(tmp_path / "fc.onnx", codes, scale, bias)
    artifact = build(load_graph(path), tmp_path / "arm", TvmOptions(cpu="aarch64", activations="int8"))
    assert [k["kernel"] for k in artifact.manifest["linear_kernels"]] == ["projection"]
    if qemu.missing():
        pytest.skip(f"qemu-user / aarch64 TVM runtime missing: {qemu.missing()}")
    x = activations(2, 5, 1)
    want = linear.reference_int8(x.reshape(-1, K), codes, scale, bias).reshape(2, 5, N)
    np.testing.assert_array_equal(runner.load(artifact.out)({"x": x})["y"], want)
