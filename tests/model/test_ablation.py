"""The ablation's mixed model: all stages quantised is the integer model, none is the float model."""

import numpy as np
import pytest

from hwgen.hw.synthetic import random_stack
from hwgen.model.ablation import STAGES, ablate, mixed_run
from hwgen.passes.lower_fixed_point import lower_stack


@pytest.mark.parametrize("cell_bn", [False, True])
def test_all_quantised_is_the_integer_model_and_none_is_the_float_model(cell_bn):
    stack = random_stack(8, 4, 2, 3, cell_bn=cell_bn, seed=4)
    x = np.random.default_rng(2).uniform(-1, 1, (40, 5, 4))
    model = lower_stack(stack, calibration=x)
    want = model.run_real(x)
    np.testing.assert_array_equal(mixed_run(model, stack, x), want)
    np.testing.assert_allclose(mixed_run(model, stack, x, STAGES), stack.run_float(x), rtol=0, atol=1e-12)


def test_each_stage_changes_something_and_ablate_counts_against_float():
    stack = random_stack(8, 4, 1, 3, cell_bn=True, seed=6)
    x = np.random.default_rng(3).uniform(-2, 2, (60, 6, 4))
    model = lower_stack(stack, calibration=x)
    exact = stack.run_float(x)
    for stage in STAGES:  # every stage is a real rounding: quantising it alone moves the outputs off the float model
        alone = mixed_run(model, stack, x, tuple(s for s in STAGES if s != stage))
        assert np.abs(alone - exact).max() > 1e-9, stage
    rows = ablate(model, stack, x, stack.run_float(x))
    assert rows[0].exact == () and rows[-1].exact == STAGES and rows[-1].differ == 0 and rows[-1].mean_abs_error < 1e-12
    assert rows[0].mean_abs_error > 0
    with pytest.raises(ValueError, match="unknown stages"):
        mixed_run(model, stack, x, ("tables",))
