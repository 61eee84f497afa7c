"""Configs that cannot be built fail with the constraint and the nearest valid choice."""

import numpy as np
import pytest

from hwgen.hw.config import AccelConfig, ConfigError
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import lower_stack


def test_lanes_must_divide_hidden():
    with pytest.raises(ConfigError, match=r"lanes=6 must divide hidden=16.*nearest valid lanes: 4 or 8"):
        AccelConfig(hidden=16, input=8, lanes=6)
    assert AccelConfig(hidden=16, input=7, lanes=8).x_chunks(0) == 1  # the input is zero-padded, not refused


def test_accumulator_too_narrow_for_the_bound():
    with pytest.raises(ConfigError, match=r"acc_bits=8 is too small for the worst-case accumulator bound 8192.*nearest valid acc_bits: 15"):
        AccelConfig(hidden=64, input=64, lanes=8, acc_bits=8)


def test_weights_too_large_for_registers_and_ebr():
    with pytest.raises(ConfigError, match=r"too many for weight_memory='registers'.*nearest valid choice: weight_memory='ebr'"):
        AccelConfig(hidden=64, input=64, lanes=8, weight_memory="registers")
    with pytest.raises(ConfigError, match=r"EBR blocks.*nearest valid choice: weight_memory='spram'"):
        AccelConfig(hidden=256, input=256, lanes=16, weight_memory="ebr", acc_bits=20, ebr_target="ice40")


def test_spram_word_width_limits_lanes():
    with pytest.raises(ConfigError, match=r"wider than 4 SPRAMs × 16 bits; nearest valid lanes: 32"):
        AccelConfig(hidden=128, input=128, lanes=64, weight_memory="spram")


def test_model_and_config_must_agree():
    model = lower_stack(random_stack(4, 4, 1, 2, seed=0))
    with pytest.raises(ConfigError, match=r"ternary weights but the config is for binary; nearest valid choice: weights_kind='ternary'"):
        AccelConfig.for_model(model, lanes=2, weights_kind="binary")
    with pytest.raises(ConfigError, match="does not match the model"):
        AccelConfig(hidden=8, input=4, lanes=2, outputs=2, model=model)
    with pytest.raises(ConfigError, match="no model"):
        AccelConfig(hidden=4, input=4, lanes=2).create()


def test_bad_kinds_are_listed():
    with pytest.raises(ConfigError, match=r"weights_kind 'int4' is not one of binary, ternary, int8"):
        AccelConfig(hidden=4, input=4, weights_kind="int4")
    with pytest.raises(ConfigError, match=r"weight_memory 'flash' is not one of registers, ebr, spram"):
        AccelConfig(hidden=4, input=4, weight_memory="flash")


@pytest.mark.parametrize("hidden,lanes", [(64, 8), (64, 16), (128, 16), (128, 32)])
def test_utilisation_at_paper_sizes(hidden, lanes):
    """Ideal 4H(X+H)/lanes over the scheduled cycles per step (validated in sim at small sizes)."""
    config = AccelConfig(hidden=hidden, input=hidden, lanes=lanes, outputs=10, weight_memory="spram")
    assert config.utilisation() >= 0.9
    assert config.expected_cycles(5) - config.expected_cycles(4) == config.cycles_per_step()


def test_binary_config_rejects_zero_codes():
    model = lower_stack(random_stack(4, 4, 1, 2, kind="ternary", seed=0))
    assert np.any(model.layers[0].w_codes == 0)
    with pytest.raises(ConfigError):
        AccelConfig.for_model(model, lanes=2, weights_kind="binary")


def test_spram_cascades_in_depth_so_h256_ternary_fits_with_8_lanes():
    config = AccelConfig(hidden=256, input=256, lanes=8, weight_memory="spram", acc_bits=20)
    assert config.word_bits == 16 and config.weight_words == 65536  # 4 SPRAMs of 16 K × 16 one after another
    with pytest.raises(ConfigError, match=r"exceed the SPRAM depth 65536.*nearest valid lanes: 8"):
        AccelConfig(hidden=256, input=256, lanes=4, weight_memory="spram", acc_bits=20)
    with pytest.raises(ConfigError, match=r"exceed the SPRAM depth 32768"):  # 32-bit words: 2 banks of 2 side by side
        AccelConfig(hidden=256, input=256 + 32, lanes=16, weight_memory="spram", acc_bits=20)


def test_ebr_budget_follows_the_target():
    with pytest.raises(ConfigError, match=r"iCE40 UP5K has 24 free"):
        AccelConfig(hidden=128, input=128, lanes=8, weight_memory="ebr", acc_bits=20, ebr_target="ice40")
    config = AccelConfig(hidden=128, input=128, lanes=8, weight_memory="ebr", acc_bits=20, ebr_target="ecp5")
    assert config.ebr_blocks() == 16  # 131072 bits as 8192 words of 16 bits, 1024 × 18 blocks
    with pytest.raises(ConfigError, match=r"ebr_target 'ecp3' is not one of ice40, ecp5"):
        AccelConfig(hidden=8, input=8, ebr_target="ecp3")


def test_output_steps_is_validated_and_must_match_the_model():
    with pytest.raises(ConfigError, match=r"output_steps 'all' is not one of last, every_step"):
        AccelConfig(hidden=4, input=4, output_steps="all")
    model = lower_stack(random_stack(4, 4, 1, 2, seed=0, every_step=True))
    config = AccelConfig.for_model(model, lanes=2)
    assert config.output_steps == "every_step"
    with pytest.raises(ConfigError, match=r"output_steps='last' but the model outputs 'every_step'; nearest valid choice"):
        AccelConfig(**{**{f: getattr(config, f) for f in ("hidden", "input", "lanes", "outputs", "acc_bits")}, "model": model})


def test_every_step_hidden_output_adds_the_drain_and_the_burst_to_each_step():
    last = AccelConfig(hidden=64, input=64, lanes=8, weight_memory="spram")
    every = AccelConfig(hidden=64, input=64, lanes=8, weight_memory="spram", output_steps="every_step")
    s = every.schedule()
    assert every.cycles_per_step() == sum(s.pass_cycles) + sum(s.gaps[1:]) + s.write_offset + s.output_cycles + 1
    assert every.expected_cycles(1) == last.expected_cycles(1)  # one step: the same drain and burst
    assert every.expected_cycles(5) - every.expected_cycles(4) == every.cycles_per_step()


@pytest.mark.parametrize("outputs, bound", [(104, "passes"), (2000, "head")])
def test_every_step_head_runs_beside_the_next_step(outputs, bound):
    """The dense head's burst overlaps the next step: a step takes the passes (and gap), or the head's period when
    its K·H/lanes products take longer; one step costs the same as with last-step outputs."""
    last = AccelConfig(hidden=64, input=64, lanes=8, outputs=outputs, weight_memory="spram")
    every = AccelConfig(hidden=64, input=64, lanes=8, outputs=outputs, weight_memory="spram", output_steps="every_step")
    s = every.schedule()
    passes = s.issue_cycles + s.gaps[0]
    assert s.head.issue == outputs * 64 // 8
    assert every.cycles_per_step() == (passes if bound == "passes" else s.head.period) > 0
    assert (passes >= s.head.period) == (bound == "passes")
    assert last.cycles_per_step() == passes
    assert every.expected_cycles(1) == last.expected_cycles(1)
    assert every.expected_cycles(5) - every.expected_cycles(4) == every.cycles_per_step()


@pytest.mark.parametrize("lanes, rows", [(8, 1), (16, 1), (32, 1), (8, 4)])
def test_every_step_charlm_utilisation_at_issue_size(lanes, rows):
    """Issue 19: a char-LM (H=128, ~100 characters in and out, logits every step) at utilisation >= 0.9."""
    config = AccelConfig(hidden=128, input=104, lanes=lanes, gate_rows=rows, outputs=104, output_steps="every_step",
                         weight_memory="ebr")
    assert config.utilisation() >= 0.9


def test_choose_lanes_prefers_up_to_the_width_then_more():
    """One policy for rtl and boards: the most valid lanes <= prefer, else the fewest valid above it."""
    def make(lanes: int) -> AccelConfig:
        return AccelConfig(hidden=256, input=256, lanes=lanes, weight_memory="spram", acc_bits=24)

    # SPRAM depth refuses 4 lanes and fewer for H=256 (too many words): the fewest above 4 that fit is 8
    assert AccelConfig.choose_lanes(256, make, prefer=4).lanes == 8
    assert AccelConfig.choose_lanes(64, lambda n: AccelConfig(hidden=64, input=64, lanes=n, acc_bits=24), prefer=4).lanes == 4
    with pytest.raises(ConfigError, match="SPRAM"):
        AccelConfig.choose_lanes(4096, lambda n: AccelConfig(hidden=4096, input=4096, lanes=n, weight_memory="spram",
                                                             acc_bits=32), prefer=4)


def test_generic_config_assumes_no_block_ram_budget():
    """Without a device (generic Verilog) an H=128 model's 58-block EBR weights are fine; an iCE40 refuses them."""
    AccelConfig(hidden=128, input=128, lanes=8, weight_memory="ebr", acc_bits=20)
    with pytest.raises(ConfigError, match="iCE40 UP5K has 24 free"):
        AccelConfig(hidden=128, input=128, lanes=8, weight_memory="ebr", acc_bits=20, ebr_target="ice40")
