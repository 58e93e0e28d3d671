"""The local registry's REST API directly: both base paths, errors, generic artifacts, the database race,
and every answer validated against ../shared/openapi/model-registry.v1alpha3.yaml when it is present."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from .fixtures import TEST_TOKEN

V1ALPHA3 = "/api/model_registry/v1alpha3"
OPENAPI = Path(__file__).resolve().parents[2].parent / "shared" / "openapi" / "model-registry.v1alpha3.yaml"


def call(url: str, method: str, path: str, body: Any = None, token: str | None = TEST_TOKEN) -> tuple[int, Any]:
    request = urllib.request.Request(
        url + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# ---------------------------------------------------------------- OpenAPI response validation


def _discriminated(schema: dict[str, Any]) -> dict[str, Any]:
    """jsonschema ignores OpenAPI's `discriminator`; express it as if/then on the property instead."""
    prop = schema["discriminator"]["propertyName"]
    branches = [
        {"if": {"properties": {prop: {"const": value}}, "required": [prop]}, "then": {"$ref": ref}}
        for value, ref in schema["discriminator"]["mapping"].items()
    ]
    return {"allOf": branches, "required": [prop]}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    if not OPENAPI.is_file():
        pytest.skip(f"needs the OpenAPI document at {OPENAPI} (../shared), absent here")
    document = yaml.safe_load(OPENAPI.read_text())
    schemas = document["components"]["schemas"]
    for name, schema in list(schemas.items()):
        if "discriminator" in schema:
            schemas[name] = _discriminated(schema)
    return document


def check(openapi: dict[str, Any], template: str, method: str, status: int, body: Any) -> None:
    """Validate one answer against the response schema the document gives for that operation/status."""
    import jsonschema

    operation = openapi["paths"][V1ALPHA3 + template][method.lower()]
    response = operation["responses"][str(status)]
    if "$ref" in response:
        response = openapi["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    schema = response["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": openapi["components"]}).validate(body)


# ---------------------------------------------------------------- tests


def create_model_and_version(url: str, base: str = V1ALPHA3) -> tuple[dict[str, Any], dict[str, Any]]:
    status, model = call(url, "POST", f"{base}/registered_models", {"name": "jukebox", "owner": "me"})
    assert status == 201, model
    body = {
        "name": "0.0.1",
        "registeredModelId": model["id"],
        "customProperties": {"accuracy": {"double_value": 0.9, "metadataType": "MetadataDoubleValue"}},
    }
    status, version = call(url, "POST", f"{base}/model_versions", body)
    assert status == 201, version
    return model, version


def test_answers_match_the_openapi_document(registry_url: str, openapi: dict[str, Any]) -> None:
    model, version = create_model_and_version(registry_url)
    check(openapi, "/registered_models", "POST", 201, model)
    check(openapi, "/model_versions", "POST", 201, version)
    artifact_body = {"artifactType": "model-artifact", "name": "jukebox", "uri": "s3://models/jukebox"}
    path = f"/model_versions/{version['id']}/artifacts"
    status, artifact = call(registry_url, "POST", V1ALPHA3 + path, artifact_body)
    check(openapi, "/model_versions/{modelversionId}/artifacts", "POST", status, artifact)
    reads = [
        ("/registered_models", "/registered_models?pageSize=1&orderBy=CREATE_TIME&sortOrder=DESC"),
        ("/registered_models/{registeredmodelId}", f"/registered_models/{model['id']}"),
        ("/registered_models/{registeredmodelId}/versions", f"/registered_models/{model['id']}/versions"),
        ("/registered_model", "/registered_model?name=jukebox"),
        ("/model_version", f"/model_version?name=0.0.1&parentResourceId={model['id']}"),
        ("/model_versions", "/model_versions"),
        ("/model_versions/{modelversionId}", f"/model_versions/{version['id']}"),
        ("/model_versions/{modelversionId}/artifacts", path),
        ("/model_artifact", f"/model_artifact?name=jukebox&parentResourceId={version['id']}"),
        ("/model_artifacts", "/model_artifacts"),
        ("/model_artifacts/{modelartifactId}", f"/model_artifacts/{artifact['id']}"),
        ("/artifacts", "/artifacts?artifactType=model-artifact"),
        ("/artifacts/{id}", f"/artifacts/{artifact['id']}"),
        ("/artifact", f"/artifact?name=jukebox&parentResourceId={version['id']}"),
        ("/registered_models/{registeredmodelId}", "/registered_models/999"),
    ]
    for template, concrete in reads:
        status, body = call(registry_url, "GET", V1ALPHA3 + concrete)
        check(openapi, template, "GET", status, body)
    status, body = call(registry_url, "PATCH", f"{V1ALPHA3}/model_versions/{version['id']}", {"state": "ARCHIVED"})
    check(openapi, "/model_versions/{modelversionId}", "PATCH", status, body)
    status, body = call(registry_url, "POST", f"{V1ALPHA3}/registered_models", {"name": "jukebox"})
    check(openapi, "/registered_models", "POST", status, body)


def test_both_base_paths_serve_the_same_data(registry_url: str) -> None:
    model, _ = create_model_and_version(registry_url, "/api/model_registry/v1")
    for base in ("/api/model_registry/v1", V1ALPHA3):
        status, body = call(registry_url, "GET", f"{base}/registered_models/{model['id']}")
        assert (status, body) == (200, model)


def test_server_assigns_ids_timestamps_and_defaults(registry_url: str) -> None:
    model, version = create_model_and_version(registry_url)
    assert model["id"].isdigit() and model["state"] == "LIVE" and version["state"] == "LIVE"
    assert model["createTimeSinceEpoch"] == model["lastUpdateTimeSinceEpoch"]
    assert int(version["createTimeSinceEpoch"]) >= int(model["createTimeSinceEpoch"])
    status, artifact = call(registry_url, "POST", f"{V1ALPHA3}/model_artifacts", {"name": "a", "uri": "s3://m/a"})
    assert status == 201 and artifact["state"] == "UNKNOWN" and artifact["artifactType"] == "model-artifact"
    status, patched = call(registry_url, "PATCH", f"{V1ALPHA3}/model_artifacts/{artifact['id']}", {"state": "LIVE"})
    assert status == 200 and patched["state"] == "LIVE" and patched["uri"] == "s3://m/a"


def test_errors_have_code_and_message(registry_url: str) -> None:
    model, version = create_model_and_version(registry_url)
    expectations = [
        ("POST", "/registered_models", {"name": "jukebox"}, 409),
        ("POST", "/model_versions", {"name": "0.0.1", "registeredModelId": model["id"]}, 409),
        ("POST", f"/registered_models/{model['id']}/versions", {"name": "0.0.1"}, 409),
        ("GET", "/model_versions/424242", None, 404),
        ("GET", "/registered_model?name=missing", None, 404),
        ("POST", "/model_versions", {"name": "x", "registeredModelId": "777"}, 422),
        ("POST", "/registered_models", {"description": "no name"}, 400),
        ("GET", "/registered_models/abc", None, 400),
        ("GET", "/registered_models?filterQuery=name%3D%27x%27", None, 400),
        ("GET", "/registered_models?nextPageToken=garbage", None, 400),
        ("PATCH", f"/artifacts/{version['id']}", {"artifactType": "doc-artifact"}, 404),
    ]
    for method, path, body, expected in expectations:
        status, answer = call(registry_url, method, V1ALPHA3 + path, body)
        assert status == expected, (method, path, answer)
        assert set(answer) == {"code", "message"} and answer["code"] == str(expected)
    assert call(registry_url, "GET", f"{V1ALPHA3}/registered_models", token=None)[0] == 401


def test_generic_artifacts(registry_url: str) -> None:
    _, version = create_model_and_version(registry_url)
    doc = {"artifactType": "doc-artifact", "name": "readme", "uri": "s3://models/README.md"}
    status, created = call(registry_url, "POST", f"{V1ALPHA3}/model_versions/{version['id']}/artifacts", doc)
    assert status == 201 and created["artifactType"] == "doc-artifact"
    status, listed = call(registry_url, "GET", f"{V1ALPHA3}/artifacts?artifactType=doc-artifact")
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    status, attached = call(
        registry_url,
        "POST",
        f"{V1ALPHA3}/model_versions/{version['id']}/artifacts",
        {**doc, "id": created["id"], "uri": "s3://x"},
    )
    assert status == 200 and attached["uri"] == "s3://x"
    status, found = call(registry_url, "GET", f"{V1ALPHA3}/artifact?name=readme&parentResourceId={version['id']}")
    assert status == 200 and found["id"] == created["id"]
    status, metric = call(
        registry_url, "POST", f"{V1ALPHA3}/artifacts", {"artifactType": "metric", "name": "acc", "value": 0.9}
    )
    assert status == 201 and metric["value"] == 0.9


def test_concurrent_creates_of_one_version_one_wins(registry_url: str) -> None:
    model, _ = create_model_and_version(registry_url)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def create() -> None:
        barrier.wait()
        body = {"name": "0.0.2", "registeredModelId": model["id"]}
        statuses.append(call(registry_url, "POST", f"{V1ALPHA3}/model_versions", body)[0])

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [201] + [409] * 7
