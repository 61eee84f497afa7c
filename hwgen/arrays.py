"""Reading user-supplied arrays (.npy) with errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from hwgen.errors import HwgenError


def load_npy(path: Union[str, Path]) -> np.ndarray:
    """The array in `path`; a HwgenError naming the file when it is missing or not a .npy array."""
    if not os.path.exists(path):
        raise HwgenError(f"{path}: no such input file")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as err:
        raise HwgenError(f"{path}: not a readable .npy array ({type(err).__name__}: {err})") from None


def as_array(value: Union[None, str, Path, np.ndarray]) -> Union[None, np.ndarray]:
    """An array given as itself or as the path of a .npy file (None stays None)."""
    if value is None or isinstance(value, np.ndarray):
        return value
    return load_npy(value)
