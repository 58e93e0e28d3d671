"""A client for any KServe v2 REST endpoint (OVMS on the cluster, or `jukebox serve`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import requests

from jukebox.errors import CheckFailed, InputError, ServiceError
from jukebox.inputs import read_text
from serving.contract import FEATURES, OUTPUT, WARNING_HEADER

#: Rows per infer request. The local server (aiohttp) refuses bodies over 1 MiB; a row is 13 numbers
#: of at most 24 characters (a float32 written as a double, e.g. -1.2345678901234567e-38) plus
#: separators, <= 338 bytes, so 2000 rows stay under 680 KB whatever the values.
MAX_ROWS_PER_REQUEST = 2000


def read_token(token: str | None, token_file: str | None) -> str | None:
    """The bearer token from --token or --token-file (e.g. a ServiceAccount token file)."""
    if token_file is None:
        return token
    text = read_text(token_file, "--token-file").strip()
    if not text:
        raise InputError(f"--token-file {token_file}: the file is empty")
    return text


@dataclass
class Answer:
    """The model's output rows and the server's input warnings (`Jukebox-Input-Warning`), per request."""

    scores: np.ndarray  # (n_rows, n_classes)
    warnings: list[str] = field(default_factory=list)


class V2Client:
    """Talks to `{url}/v2/models/{model}`; turns transport and HTTP failures into ServiceError."""

    def __init__(self, url: str, model: str, token: str | None = None, verify: bool = True, timeout: float = 30):
        if not url.startswith(("http://", "https://")):
            raise InputError(f"--url {url}: must start with http:// or https://")
        self.base = url.rstrip("/")
        self.model = model
        self.session = requests.Session()
        self.session.verify = verify
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.has_token = bool(token)

    def _call(self, method: str, path: str, body: Any = None) -> requests.Response:
        url = self.base + path
        try:
            return self.session.request(method, url, json=body, timeout=self.timeout)
        except requests.exceptions.SSLError as error:
            raise ServiceError(f"TLS verification failed for {url} ({error}); use --insecure to skip it") from None
        except requests.exceptions.Timeout:
            raise ServiceError(f"{url}: no answer within {self.timeout:g}s") from None
        except requests.exceptions.ConnectionError:
            raise ServiceError(f"cannot reach {self.base}: is the model server running and is --url right?") from None

    def _checked(self, response: requests.Response) -> Any:
        if response.status_code in (401, 403):
            hint = (
                "the token was refused (expired, or not allowed to call this InferenceService?)"
                if self.has_token
                else "token auth is on: pass --token or --token-file (e.g. a ServiceAccount token)"
            )
            raise ServiceError(f"HTTP {response.status_code} from {response.url}: {hint}")
        if response.status_code == 404:
            raise ServiceError(f"{response.url}: {_error_text(response)} (is --model {self.model} right?)")
        if not response.ok:
            raise ServiceError(f"HTTP {response.status_code} from {response.url}: {_error_text(response)}")
        try:
            return response.json()
        except ValueError:
            raise ServiceError(f"{response.url}: the answer is not JSON; is --url a v2 endpoint?") from None

    def metadata(self) -> dict[str, Any]:
        return self._checked(self._call("GET", f"/v2/models/{self.model}"))

    def model_notes(self) -> dict[str, Any] | None:
        """`jukebox serve`'s extension route (labels, output_semantics, feature_ranges); None from OVMS."""
        response = self._call("GET", f"/jukebox/models/{self.model}/labels")
        if response.status_code != 200:
            return None
        try:
            notes = response.json()
        except ValueError:
            return None
        return notes if isinstance(notes, dict) else None

    def labels(self) -> list[str] | None:
        """Labels from `jukebox serve`'s extension route; None from servers without it (OVMS)."""
        labels = (self.model_notes() or {}).get("labels")
        return labels if isinstance(labels, list) else None

    def infer(self, rows: dict[str, np.ndarray]) -> Answer:
        """Output rows [n_rows, n_classes] for column-wise FP32 feature rows, in requests of at most
        MAX_ROWS_PER_REQUEST rows (answers joined in order), and the server's input warnings."""
        n = len(next(iter(rows.values())))
        parts, warnings = [], []
        for start in range(0, n, MAX_ROWS_PER_REQUEST):
            chunk = {name: values[start : start + MAX_ROWS_PER_REQUEST] for name, values in rows.items()}
            scores, warning = self._infer_once(chunk)
            parts.append(scores)
            if warning:
                offset = f" (rows from {start})" if n > MAX_ROWS_PER_REQUEST else ""
                warnings.append(f"{warning}{offset}")
        return Answer(np.concatenate(parts), warnings)

    def _infer_once(self, rows: dict[str, np.ndarray]) -> tuple[np.ndarray, str | None]:
        n = len(next(iter(rows.values())))
        body = {"inputs": [_input(name, values) for name, values in rows.items()]}
        response = self._call("POST", f"/v2/models/{self.model}/infer", body)
        answer = self._checked(response)
        outputs = {output.get("name"): output for output in answer.get("outputs", [])}
        if OUTPUT not in outputs:
            raise ServiceError(f"the answer has no output named '{OUTPUT}' (got {sorted(map(str, outputs))})")
        data = np.asarray(outputs[OUTPUT]["data"], dtype=np.float64)
        if data.size % max(n, 1):
            raise ServiceError(f"the answer's '{OUTPUT}' has {data.size} values, not a multiple of {n} rows")
        return data.reshape(n, -1), response.headers.get(WARNING_HEADER)


def _input(name: str, values: np.ndarray) -> dict[str, Any]:
    return {"name": name, "shape": [len(values), 1], "datatype": "FP32", "data": values.tolist()}


def _error_text(response: requests.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:200] or response.reason


def check_inputs(metadata: dict[str, Any], url: str) -> None:
    """Refuse a model whose inputs are not the 13 FP32 [-1|n, 1] song features."""
    inputs = {str(item.get("name")): item for item in metadata.get("inputs", [])}
    missing = [name for name in FEATURES if name not in inputs]
    extra = [name for name in inputs if name not in FEATURES]
    wrong = [
        f"{name} ({item.get('datatype')} {item.get('shape')})"
        for name, item in inputs.items()
        if name in FEATURES and (item.get("datatype") != "FP32" or len(item.get("shape", [])) != 2)
    ]
    if missing or extra or wrong:
        problems = [
            f"missing {', '.join(missing)}" if missing else "",
            f"unexpected {', '.join(extra)}" if extra else "",
        ]
        problems.append(f"not FP32 [-1, 1]: {', '.join(wrong)}" if wrong else "")
        raise CheckFailed(
            f"the model '{metadata.get('name')}' at {url} does not take the 13 song features "
            f"({'; '.join(p for p in problems if p)})"
        )
