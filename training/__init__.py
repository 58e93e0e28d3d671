"""Training: song data -> scikit-learn MLP -> ONNX that OpenVINO Model Server loads.

Public API (heavy imports happen on first use, so `import training` stays cheap):
`train`, `TrainResult`, `TrainingParams`, `load_params`, `DataSource`, `load_data`, `make_sample`,
`split_by_song`, `fit`, `evaluate`, `export_onnx`, `check_parity`, `write_model_dir`, `explore`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "train": "training.pipeline",
    "TrainResult": "training.pipeline",
    "TrainingParams": "training.params",
    "load_params": "training.params",
    "DataSource": "training.data",
    "Dataset": "training.data",
    "load_data": "training.data",
    "make_sample": "training.sample",
    "split_by_song": "training.model",
    "fit": "training.model",
    "evaluate": "training.evaluate",
    "export_onnx": "training.onnx_export",
    "check_parity": "training.onnx_export",
    "write_model_dir": "training.outdir",
    "explore": "training.explore",
    "FEATURES": "training.features",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
