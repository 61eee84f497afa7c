import re

import pytest

from hwgen.fpga.boards import get_board
from hwgen.fpga.fit import ModelTooLarge, choose_config, largest_fitting_hidden, preferred_lanes
from hwgen.fpga.flow import block_ram_uses, design_for
from hwgen.hw.synthetic import random_stack
from hwgen.passes.lower_fixed_point import lower_stack


def test_ternary_h256_fits_the_up5k_in_spram():
    """The issue's requirement, by the fit check: weights in SPRAM and the whole top level (host link included)
    within the UP5K's 30 EBR blocks (design_for raises ModelTooLarge otherwise)."""
    model = lower_stack(random_stack(256, 256, classes=10, kind="ternary"))
    design = design_for(model, "icebreaker")
    config = design.config
    assert config.weight_memory == "spram" and config.lanes == 8
    assert config.weight_words * config.word_bits <= 4 * 256 * 1024
    uses = {u.name: u.blocks for u in block_ram_uses(design)}
    assert sum(uses.values()) <= 30
    assert uses["out_mem"] == 0 and uses["accel.act.rom"] == 1  # the head's 10 logits in registers; trimmed tables


def test_block_ram_overflow_names_ebr_and_a_hidden_size_that_fits():
    model = lower_stack(random_stack(128, 128, classes=10, kind="ternary"))
    with pytest.raises(ModelTooLarge) as err:
        design_for(model, "icebreaker", input_words=8192)  # the input buffer alone takes 16 blocks
    # no width fits: the narrowest valid one (1 lane × 4 gate rows; one row a word needs 2 lanes: 1 would overflow the
    # SPRAM depth)
    message = str(err.value)
    assert re.search(r"lanes 1\) .*needs 3\d EBR blocks and the board has 30", message) and "in_mem 16" in message
    fit = int(re.search(r"hidden=(\d+)", message).group(1))
    assert 0 < fit < 128
    design_for(lower_stack(random_stack(fit, 128, classes=10, kind="ternary")), "icebreaker", input_words=8192)


def test_too_large_names_the_resource_and_the_largest_fit():
    model = lower_stack(random_stack(320, 256, classes=10, kind="ternary"))
    with pytest.raises(ModelTooLarge) as err:
        choose_config(get_board("icebreaker"), model)
    message = str(err.value)
    assert "SPRAM" in message and "1474560 bits" in message
    assert "hidden=256" in message


def test_largest_fitting_hidden_is_tight():
    board = get_board("icebreaker")
    h, lanes = largest_fitting_hidden(board, 1000, 256, 1, "ternary")
    assert h == 256 and lanes == 8  # four SPRAMs cascaded in depth: 64 K words of 8 ternary codes
    # binary codes take half the bits: a larger hidden size fits
    assert largest_fitting_hidden(board, 1000, 256, 1, "binary")[0] > 256


def test_small_model_uses_preferred_lanes():
    """The UP5K's four SPRAMs read 64 bits: 32 ternary codes, 64 binary, 8 int8, within the logic budget (32 add/sub
    lanes, 4 MACs)."""
    board = get_board("icebreaker")
    assert [preferred_lanes(board, kind, 1000) for kind in ("binary", "ternary", "int8")] == [32, 32, 4]
    model = lower_stack(random_stack(16, 8, classes=4, kind="ternary"))
    # all of hidden in one row a word (2 cycles a row): four rows a word would need >= 8 cycles a unit, fewer lanes
    config = choose_config(board, model)
    assert (config.lanes, config.gate_rows) == (16, 1)


def test_lanes_match_the_spram_word_where_the_block_ram_allows():
    """H=64, 128, 256: the SPRAMs' whole 64-bit word, 32 ternary codes a cycle as 8 lanes × 4 gate rows (the vector
    memory 8 values wide), fits the UP5K's 30 EBR; a step takes the SPRAM-bound 4H·2H/32 cycles (H=256: 16,384)."""
    for hidden in (64, 128, 256):
        design = design_for(lower_stack(random_stack(hidden, hidden, classes=10, kind="ternary")), "icebreaker")
        config = design.config
        assert (config.lanes, config.gate_rows) == (8, 4) and sum(u.blocks for u in block_ram_uses(design)) <= 30
        assert config.ideal_cycles_per_step() == 4 * hidden * 2 * hidden / 32
        assert config.cycles_per_step() <= config.ideal_cycles_per_step() / 0.95


def test_an_input_lanes_do_not_divide_still_gets_the_preferred_lanes():
    """Layer 0's input is zero-padded to whole chunks, so an odd input no longer forces one lane."""
    model = lower_stack(random_stack(16, 7, classes=4, kind="ternary"))
    config = choose_config(get_board("icebreaker"), model)
    assert config.lanes == 16 and config.padded_input() == 16


def test_ecp5_budgets_its_own_block_ram():
    """The ULX3S 85F's 208 DP16KD blocks hold an H=128 ternary LSTM's weights (the UP5K's 24 free EBRs would not)."""
    model = lower_stack(random_stack(128, 128, classes=10, kind="ternary"))
    config = choose_config(get_board("ulx3s-85f"), model)
    # 15 blocks of 1024 × 18 hold the weights: 270 bits a cycle side by side, within the ECP5's 16-code logic budget
    assert config.weight_memory == "ebr" and config.ebr_target == "ecp5" and config.products == 16


def test_given_lanes_leave_the_head_within_the_boards_multipliers():
    """With `lanes` given, the dense head still gets only the UP5K's spare multipliers (8 DSPs: 3 shared, the int8
    gate lanes' own, then the head's), as when the fit chooses the lanes: 4 int8 lanes leave the head one."""
    board = get_board("icebreaker")
    int8 = lower_stack(random_stack(32, 8, classes=10, kind="int8"))
    ternary = lower_stack(random_stack(32, 8, classes=10, kind="ternary"))
    assert choose_config(board, int8, lanes=4).head_lanes == 1
    assert choose_config(board, ternary, lanes=8).head_lanes == 4  # the largest divisor of 8 within 5


@pytest.mark.parametrize("hidden, inputs, every_step, expected", [
    (48, 8, False, (16, 2, 413)),  # four rows force 6 lanes (505 cycles): two rows a word at 16 lanes save 18 %
    (64, 64, True, (8, 4, 1639)),  # two rows at 16 lanes would save one cycle: not worth a vector twice as wide
])
def test_two_gate_rows_only_where_they_save_enough_cycles(hidden, inputs, every_step, expected):
    model = lower_stack(random_stack(hidden, inputs, 1, 101 if every_step else 10, kind="ternary", seed=0,
                                     every_step=every_step))
    config = choose_config(get_board("icebreaker"), model)
    assert (config.lanes, config.gate_rows, config.cycles_per_step()) == expected
