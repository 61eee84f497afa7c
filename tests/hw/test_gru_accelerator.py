"""The GRU accelerator (cell="gru": rows z, r, n, `hwgen.hw.gru_update`) in amaranth.sim: bit-exact against
`IntegerGRUModel`, cycles == expected_cycles; what it does not support is refused by name."""

import numpy as np
import pytest

from hwgen.hw.config import AccelConfig, ConfigError
from hwgen.hw.synthetic import random_gru_stack, random_stack
from hwgen.passes.lower_fixed_point import lower_stack
from hwgen.passes.lower_gru import lower_gru

from tests.hw.test_accelerator import _run

CASES = {  # layers 1-2, last-step and every-step heads, hidden outputs, binary/ternary/int8, one lane to many
    "ternary-logits": dict(hidden=4, input_size=4, layers=1, classes=3, lanes=2),
    "two-layers-every-step": dict(hidden=4, input_size=5, layers=2, classes=3, lanes=2, every_step=True),
    "hidden-out-one-lane": dict(hidden=2, input_size=3, layers=2, classes=0, lanes=1, kind="binary"),
    "int8-spram": dict(hidden=4, input_size=4, layers=1, classes=2, lanes=4, memory="spram", int8=True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gru_is_bit_exact_and_takes_expected_cycles(case):
    config, result, steps = _run(**CASES[case], cell="gru")
    assert config.cell == "gru" and config.gates == 3
    assert result.cycles[0] == config.expected_cycles(steps)


def test_gru_rows_take_three_quarters_of_the_lstm_passes():
    gru = AccelConfig.for_model(lower_gru(random_gru_stack(32, 8, classes=10)), lanes=8)
    lstm = AccelConfig.for_model(lower_stack(random_stack(32, 8, classes=10)), lanes=8)
    sg, sl = gru.schedule(), lstm.schedule()
    assert 4 * sum(sg.pass_cycles) == 3 * sum(sl.pass_cycles)
    assert sg.write_offset < sl.write_offset  # the n row skips the activation unit's port A and the LSTM's c path
    assert gru.cycles_per_step() <= 0.8 * lstm.cycles_per_step()
    assert gru.weight_words * 4 == lstm.weight_words * 3


def test_unsupported_gru_configurations_are_refused_by_name():
    model = lower_gru(random_gru_stack(8, 8, classes=2))
    with pytest.raises(ConfigError, match="gate_rows=4 is for LSTMs.*gate_rows=1"):
        AccelConfig.for_model(model, lanes=1, gate_rows=4)
    with pytest.raises(ConfigError, match="linear_before_reset=0.*supports linear_before_reset=1"):
        AccelConfig.for_model(lower_gru(random_gru_stack(8, 8, classes=2, linear_before_reset=False)), lanes=2)
    lstm = lower_stack(random_stack(8, 8, classes=2))
    with pytest.raises(ConfigError, match="an LSTM but the config is for cell='gru'"):
        AccelConfig.for_model(model, lanes=2).reference(lstm, np.zeros((1, 2, 8), np.int64))
