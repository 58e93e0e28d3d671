"""The local v2 server against OVMS's documented KServe REST shapes, status codes and batching."""

from __future__ import annotations

import copy

import pytest
import requests
from serving_fixtures import LABELS, lab_body

from serving.contract import FEATURES

INFER = "/v2/models/jukebox/infer"


@pytest.fixture(scope="module")
def http() -> requests.Session:
    with requests.Session() as session:
        yield session


def post(http, server, body, path=INFER) -> requests.Response:
    return http.post(server.url + path, json=body, timeout=10)


def assert_error(response: requests.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    for word in words:
        assert word in body["error"]


def test_binds_loopback_only(server):
    assert server.host == "127.0.0.1"


@pytest.mark.parametrize("path", ["/v2/health/live", "/v2/health/ready", "/v2/models/jukebox/ready"])
def test_health_and_ready_are_200_with_empty_json(http, server, path):
    response = http.get(server.url + path)
    assert response.status_code == 200
    assert response.json() == {}


def test_server_metadata(http, server):
    body = http.get(server.url + "/v2").json()
    assert set(body) == {"name", "version", "extensions"}
    assert isinstance(body["extensions"], list)


@pytest.mark.parametrize("path", ["/v2/models/jukebox", "/v2/models/jukebox/versions/1"])
def test_model_metadata(http, server, path):
    body = http.get(server.url + path).json()
    assert body["name"] == "jukebox"
    assert body["versions"] == ["1"]
    assert body["platform"] == "OpenVINO"
    assert body["inputs"] == [{"name": f, "datatype": "FP32", "shape": [-1, 1]} for f in FEATURES]
    assert body["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, len(LABELS)]}]


def test_lab_request_without_id_gets_ovms_response(http, server):
    response = post(http, server, lab_body())
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["model_name", "model_version", "outputs"]
    assert body["model_name"] == "jukebox" and body["model_version"] == "1"
    [output] = body["outputs"]
    assert output["name"] == "output" and output["datatype"] == "FP32"
    assert output["shape"] == [1, len(LABELS)]
    assert sum(output["data"]) == pytest.approx(1.0, abs=1e-5)


def test_id_is_echoed(http, server):
    body = post(http, server, {"id": "req-42", **lab_body()}).json()
    assert body["id"] == "req-42"
    assert list(body) == ["model_name", "model_version", "id", "outputs"]


def test_versioned_infer_route(http, server):
    plain = post(http, server, lab_body()).json()
    versioned = post(http, server, lab_body(), "/v2/models/jukebox/versions/1/infer").json()
    assert versioned["outputs"] == plain["outputs"]


def test_batch_rows_equal_single_requests(http, server):
    rows = [{f: 0.1 * (i + 1) * (j + 1) for j, f in enumerate(FEATURES)} for i in range(5)]
    batch = {
        "inputs": [{"name": f, "shape": [5, 1], "datatype": "FP32", "data": [row[f] for row in rows]} for f in FEATURES]
    }
    [output] = post(http, server, batch).json()["outputs"]
    assert output["shape"] == [5, len(LABELS)]
    n = len(LABELS)
    for i, row in enumerate(rows):
        single = post(http, server, lab_body(row)).json()["outputs"][0]["data"]
        assert output["data"][i * n : (i + 1) * n] == pytest.approx(single, abs=1e-6)


def test_nested_data_and_integer_values_are_accepted(http, server):
    body = lab_body()
    for tensor in body["inputs"]:
        tensor["data"] = [[tensor["data"][0]]]
    body["inputs"][0]["data"] = [[1]]
    assert post(http, server, body).status_code == 200


def test_requested_outputs(http, server):
    body = {**lab_body(), "outputs": [{"name": "output"}]}
    assert post(http, server, body).status_code == 200
    assert_error(post(http, server, {**lab_body(), "outputs": [{"name": "probs"}]}), 400, "probs")


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/v2/models/other/infer", ["name is not found"]),
        ("/v2/models/jukebox/versions/2/infer", ["version is not found"]),
    ],
)
def test_unknown_model_or_version_is_404(http, server, path, words):
    assert_error(post(http, server, lab_body(), path), 404, *words)
    assert_error(http.get(server.url + path.removesuffix("/infer") + "/ready"), 404, *words)
    assert_error(http.get(server.url + path.removesuffix("/infer")), 404, *words)


def _mutated(change) -> dict:
    body = copy.deepcopy(lab_body())
    change(body["inputs"])
    return body


def _set(index: int, key: str, value):
    return lambda inputs: inputs[index].__setitem__(key, value)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda inputs: inputs.pop(), ["Missing input", "tempo"]),
        (lambda inputs: inputs.append({**inputs[0], "name": "bpm"}), ["Unexpected input", "bpm"]),
        (lambda inputs: inputs.append(dict(inputs[0])), ["Duplicate input", "is_explicit"]),
        (_set(2, "datatype", "FP64"), ["precision", "danceability", "FP32", "FP64"]),
        (_set(2, "shape", [2, 1]), ["number of values", "danceability"]),
        (_set(2, "shape", [1]), ["number of shape dimensions", "danceability"]),
        (_set(2, "shape", [1, 2]), ["Invalid input shape", "danceability"]),
        (_set(2, "shape", [0, 1]), ["Invalid input shape"]),
        (_set(2, "data", [0.1, 0.2]), ["number of values", "Expected: 1", "Actual: 2"]),
        (_set(2, "data", ["0.64"]), ["Could not parse input content", "danceability"]),
        (_set(2, "data", [True]), ["Could not parse input content"]),
        (_set(2, "data", [[0.1], [0.2, 0.3]]), ["Could not parse input content"]),
        (_set(2, "data", None), ["'data'"]),
    ],
)
def test_bad_inputs_are_400(http, server, change, words):
    assert_error(post(http, server, _mutated(change)), 400, *words)


def test_mixed_batch_sizes_are_400(http, server):
    def two_rows(inputs):
        inputs[0].update(shape=[2, 1], data=[0.0, 1.0])

    assert_error(post(http, server, _mutated(two_rows)), 400, "batch size")


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'{"inputs": []}', b'{"id": 3, "inputs": [1]}'])
def test_malformed_bodies_are_400(http, server, raw):
    response = http.post(server.url + INFER, data=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400)


def test_unknown_route_and_wrong_method_answer_json(http, server):
    assert_error(http.get(server.url + "/v2/nothing"), 404)
    assert_error(http.get(server.url + INFER), 405)


def test_labels_extension(http, server):
    body = http.get(server.url + "/jukebox/models/jukebox/labels").json()
    assert set(body) == {"name", "labels", "output_semantics", "feature_ranges"}
    assert body["name"] == "jukebox" and body["labels"] == LABELS and body["output_semantics"] == "softmax"
    assert set(body["feature_ranges"]) == set(FEATURES)
