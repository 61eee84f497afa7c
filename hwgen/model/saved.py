"""Load a saved integer model of either cell: the .npz header's `cell` ("lstm" when absent) picks the class.

The RTL artefact's `model.npz` holds an `IntegerModel` (LSTM) or an `IntegerGRUModel`; readers that
take both (the artefact loader, the simulators) call `load_model` rather than guessing a class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from hwgen.model.gru import IntegerGRUModel
from hwgen.model.integer_model import IntegerModel, read_npz

RecurrentModel = Union[IntegerModel, IntegerGRUModel]


def load_model(path: Union[str, Path]) -> RecurrentModel:
    _, meta = read_npz(path)
    return IntegerGRUModel.load(path) if meta.get("cell") == "gru" else IntegerModel.load(path)
