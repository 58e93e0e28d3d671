"""Open Inference Protocol (KServe v2) REST bodies, validated the way OVMS validates them.

`parse_infer_request` turns a request body into named arrays or raises `V2Error` (status 400 with an
OVMS-style message); `infer_response` builds the response body.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from serving.engine import Engine, TensorSpec

# numpy dtype kinds accepted in `data` for each v2 datatype family.
_ACCEPTED_KINDS = {"FP": "iuf", "IN": "iu", "UI": "iu", "BF": "iuf", "BO": "b"}


class V2Error(Exception):
    """A request the server refuses: HTTP status plus the message sent as `{"error": message}`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> V2Error:
    return V2Error(400, message)


def _field(tensor: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = tensor.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _bad(f"Invalid JSON structure. {where}: '{key}' is missing or has the wrong type")
    return value


def _check_shape(spec: TensorSpec, shape: list[Any]) -> None:
    if not all(isinstance(dim, int) and not isinstance(dim, bool) and dim > 0 for dim in shape):
        raise _bad(f"Invalid input shape - input {spec.name}: dimensions must be positive integers, got {shape}")
    if len(shape) != len(spec.shape):
        raise _bad(
            f"Invalid number of shape dimensions - input {spec.name}; Expected: {list(spec.shape)}; Actual: {shape}"
        )
    if any(want not in (-1, got) for want, got in zip(spec.shape, shape, strict=True)):
        raise _bad(f"Invalid input shape - input {spec.name}; Expected: {list(spec.shape)}; Actual: {shape}")


def _to_array(spec: TensorSpec, tensor: dict[str, Any]) -> np.ndarray:
    where = f"input {spec.name}"
    datatype = _field(tensor, "datatype", str, where)
    if datatype != spec.datatype:
        raise _bad(f"Invalid input precision - input {spec.name}; Expected: {spec.datatype}; Actual: {datatype}")
    shape = _field(tensor, "shape", list, where)
    _check_shape(spec, shape)
    data = _field(tensor, "data", list, where)
    try:
        array = np.asarray(data)
    except ValueError:
        raise _bad(f"Could not parse input content - input {spec.name}: data is not a rectangular array") from None
    if array.dtype.kind not in _ACCEPTED_KINDS.get(datatype[:2], "iuf"):
        raise _bad(f"Could not parse input content - input {spec.name}: data must be {datatype} numbers")
    expected = math.prod(shape)
    if array.size != expected:
        raise _bad(
            f"Invalid number of values in tensor proto container - input {spec.name}; "
            f"Expected: {expected} (shape {shape}); Actual: {array.size}"
        )
    return array.reshape(shape).astype(spec.dtype, copy=False)


def _named_inputs(engine: Engine, inputs: list[Any]) -> dict[str, dict[str, Any]]:
    named: dict[str, dict[str, Any]] = {}
    for tensor in inputs:
        if not isinstance(tensor, dict):
            raise _bad("Invalid JSON structure. One of inputs is not a JSON object.")
        name = _field(tensor, "name", str, "inputs[]")
        if name in named:
            raise _bad(f"Duplicate input - input {name} is given more than once")
        named[name] = tensor
    extra = [name for name in named if name not in engine.input_by_name]
    if extra:
        raise _bad(f"Unexpected input - the model has no input(s) {', '.join(extra)}")
    missing = [spec.name for spec in engine.inputs if spec.name not in named]
    if missing:
        raise _bad(f"Missing input with specific name - Required input(s): {', '.join(missing)}")
    return named


def _check_batch(arrays: dict[str, np.ndarray]) -> None:
    batches = {array.shape[0] for array in arrays.values() if array.ndim}
    if len(batches) > 1:
        raise _bad(f"Invalid input batch size - inputs have different batch sizes: {sorted(batches)}")


def parse_infer_request(engine: Engine, body: Any) -> dict[str, np.ndarray]:
    """Validate a v2 infer request body against the model; returns input name -> array."""
    if not isinstance(body, dict):
        raise _bad("Request body should be JSON object")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise _bad("Invalid JSON structure. Missing inputs in column format")
    if "id" in body and not isinstance(body["id"], str):
        raise _bad("Invalid JSON structure. 'id' must be a string")
    named = _named_inputs(engine, inputs)
    arrays = {name: _to_array(engine.input_by_name[name], tensor) for name, tensor in named.items()}
    _check_batch(arrays)
    return arrays


def requested_outputs(engine: Engine, body: dict[str, Any]) -> list[TensorSpec]:
    """The outputs named in the request's optional `outputs` list (all model outputs when absent)."""
    wanted = body.get("outputs")
    if wanted is None:
        return engine.outputs
    by_name = {spec.name: spec for spec in engine.outputs}
    if not isinstance(wanted, list) or not all(isinstance(item, dict) for item in wanted):
        raise _bad("Invalid JSON structure. 'outputs' must be a list of objects")
    names = [item.get("name") for item in wanted]
    unknown = [str(name) for name in names if name not in by_name]
    if unknown:
        raise _bad(f"Invalid output name - the model has no output(s) {', '.join(unknown)}")
    return [by_name[name] for name in names]


def infer_response(
    model_name: str,
    version: int,
    body: dict[str, Any],
    outputs: list[TensorSpec],
    results: dict[str, np.ndarray],
) -> dict[str, Any]:
    """The OVMS response body: model_name, model_version, id (when the request had one), outputs."""
    response: dict[str, Any] = {"model_name": model_name, "model_version": str(version)}
    if "id" in body:
        response["id"] = body["id"]
    response["outputs"] = [_output_tensor(spec, results[spec.name]) for spec in outputs]
    return response


def _output_tensor(spec: TensorSpec, array: np.ndarray) -> dict[str, Any]:
    return {
        "name": spec.name,
        "shape": list(array.shape),
        "datatype": spec.datatype,
        "data": array.ravel().tolist(),
    }


def model_metadata(model_name: str, engine: Engine) -> dict[str, Any]:
    """The v2 model metadata body as OVMS answers it."""
    return {
        "name": model_name,
        "versions": [str(engine.version)],
        "platform": "OpenVINO",
        "inputs": [spec.metadata() for spec in engine.inputs],
        "outputs": [spec.metadata() for spec in engine.outputs],
    }
