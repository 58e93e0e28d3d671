"""The official Model Registry client (model-registry 0.3.11) against the local registry server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from model_registry.exceptions import StoreError
from mr_openapi.exceptions import ApiException

from release.local import running_registry

from .fixtures import TEST_TOKEN, make_client

URI = "s3://models/jukebox?endpoint=http://127.0.0.1:9000&defaultRegion=us-east-1"


def register(client, version: str = "0.0.1", name: str = "jukebox"):
    return client.register_model(
        name,
        URI,
        version=version,
        model_format_name="onnx",
        model_format_version="1",
        storage_key="aws-connection-models",
        storage_path="jukebox",
        metadata={"accuracy": 0.91, "rows": 14245, "dataset": "song_properties"},
    )


def test_register_and_read_back(official_client) -> None:
    model = register(official_client)
    assert model.id and model.name == "jukebox" and model.state.value == "LIVE"
    assert official_client.get_registered_model("jukebox").id == model.id
    version = official_client.get_model_version("jukebox", "0.0.1")
    assert version.registered_model_id == model.id and version.author == "tester"
    assert version.custom_properties == {"accuracy": 0.91, "rows": 14245, "dataset": "song_properties"}
    assert int(version.create_time_since_epoch) > 0 and version.last_update_time_since_epoch
    artifact = official_client.get_model_artifact("jukebox", "0.0.1")
    assert (artifact.uri, artifact.model_format_name, artifact.model_format_version) == (URI, "onnx", "1")
    assert (artifact.storage_key, artifact.storage_path) == ("aws-connection-models", "jukebox")
    assert artifact.state.value == "UNKNOWN"


def test_unknown_names_are_none(official_client) -> None:
    assert official_client.get_registered_model("nope") is None
    register(official_client)
    assert official_client.get_model_version("jukebox", "9.9.9") is None


def test_versions_are_paged_over_more_than_a_page(official_client) -> None:
    names = [f"0.0.{i}" for i in range(1, 8)]
    for name in names:
        register(official_client, name)
    pager = official_client.get_model_versions("jukebox").page_size(3)
    assert [version.name for version in pager] == names
    newest_first = official_client.get_model_versions("jukebox").page_size(2).order_by_creation_time().descending()
    assert [version.name for version in newest_first] == names[::-1]


def test_archive_a_version(official_client) -> None:
    register(official_client)
    version = official_client.get_model_version("jukebox", "0.0.1")
    version.state = "ARCHIVED"
    updated = official_client.update(version)
    assert updated.state.value == "ARCHIVED"
    assert official_client.get_model_version("jukebox", "0.0.1").state.value == "ARCHIVED"
    assert int(updated.last_update_time_since_epoch) >= int(updated.create_time_since_epoch)


def test_update_artifact_and_model(official_client) -> None:
    model = register(official_client)
    artifact = official_client.get_model_artifact("jukebox", "0.0.1")
    artifact.storage_path = "jukebox-v2"
    assert official_client.update(artifact).storage_path == "jukebox-v2"
    model.description = "which countries like this song"
    assert official_client.update(model).description == "which countries like this song"
    assert official_client.get_registered_model("jukebox").description == "which countries like this song"


def test_existing_version_is_refused(official_client) -> None:
    register(official_client)
    with pytest.raises(StoreError, match="already exists"):
        register(official_client)


def test_data_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    with running_registry(db, token=TEST_TOKEN) as url:
        model_id = register(make_client(url)).id
    with running_registry(db, token=TEST_TOKEN) as url:
        client = make_client(url)
        assert client.get_registered_model("jukebox").id == model_id
        assert client.get_model_artifact("jukebox", "0.0.1").uri == URI
        register(client, "0.0.2")  # ids keep growing after a restart
        assert [v.name for v in client.get_model_versions("jukebox")] == ["0.0.1", "0.0.2"]


def test_racing_clients_register_one_version(registry_url: str) -> None:
    register(make_client(registry_url), "0.0.1")  # the model exists; both race on the version
    clients = [make_client(registry_url) for _ in range(2)]
    barrier = threading.Barrier(len(clients))
    outcomes: list[str] = []

    def race(client) -> None:
        barrier.wait()
        try:
            register(client, "0.0.2")
            outcomes.append("won")
        except (StoreError, ApiException) as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=race, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes)[-1] == "won" and outcomes.count("won") == 1, outcomes
    assert [v.name for v in make_client(registry_url).get_model_versions("jukebox")] == ["0.0.1", "0.0.2"]


def test_wrong_token_is_refused(registry_url: str) -> None:
    with pytest.raises(ApiException) as refused:
        make_client(registry_url, token="wrong")  # pragma: allowlist secret
    assert refused.value.status == 401
