"""Cluster runs: settings and inputs are checked before any server is contacted; a down server is an error."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

import pytest
import yaml

from jukebox.cli import main
from jukebox.errors import InputError, ServiceError
from pipelines.cluster import connection_environment, decode_secret_data
from pipelines.submit import ServerOptions, cluster_data, pipeline_server, prepare, submit
from tests.generator.helpers import base_spec, make_repo

pytest.importorskip("kfp", reason="the pipelines extra (kfp) is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    make_repo(tmp_path, {"jukebox": base_spec()}, pins={"jukebox": ["dev"]})
    return tmp_path / "specs" / "jukebox.yaml"


def test_the_server_needs_an_endpoint_and_over_https_a_token(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--endpoint"):
        pipeline_server(ServerOptions(), {})
    with pytest.raises(InputError, match="needs a token"):
        pipeline_server(ServerOptions(endpoint="https://ds-pipeline-dspa.example.com"), {})
    empty = tmp_path / "token"
    empty.write_text("\n")
    with pytest.raises(InputError, match=r"--token-file .*empty"):
        pipeline_server(ServerOptions(endpoint="https://x.example.com", token_file=str(empty)), {})
    token = tmp_path / "real-token"
    token.write_text("sha256~abc\n")
    server = pipeline_server(ServerOptions(token_file=str(token)), {"JUKEBOX_PIPELINES_URL": "https://x.example.com/"})
    assert (server.url, server.token) == ("https://x.example.com", "sha256~abc")


def test_cluster_runs_refuse_local_paths_as_data(tmp_path: Path) -> None:
    assert cluster_data("sample:rows=1000") == "sample:rows=1000"
    assert cluster_data("https://example.com/data/") == "https://example.com/data/"
    (tmp_path / "song_properties.parquet").write_bytes(b"")
    (tmp_path / "song_rankings.parquet").write_bytes(b"")
    with pytest.raises(InputError, match="path on this machine"):
        cluster_data(str(tmp_path))
    with pytest.raises(InputError, match="--data nonsense"):
        cluster_data("nonsense")


def test_prepare_passes_the_current_pin_and_names_the_committed_version(spec_path: Path) -> None:
    submission = prepare(spec_path, None, "sample", None, "https://registry.example.com")
    assert submission.environment == "dev"
    pin = yaml.safe_load((spec_path.parent / "jukebox.pins" / "dev.yaml").read_text())
    assert f'"version": "{pin["version"]}"' in submission.parameters["current_pin"]
    assert submission.version_name.startswith("jukebox-training-")  # compiled from the spec, as render does


def test_prepare_refuses_what_the_cluster_cannot_run(spec_path: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--env prod: the pipeline runs in pipelines\.environment"):
        prepare(spec_path, "prod", None, None, "https://registry.example.com")
    with pytest.raises(InputError, match="--registry-url"):
        prepare(spec_path, None, None, None, None)
    bare = base_spec()
    bare.pop("pipelines")
    make_repo(tmp_path / "bare", {"jukebox": bare})
    with pytest.raises(InputError, match="no `pipelines` section"):
        prepare(tmp_path / "bare" / "specs" / "jukebox.yaml", None, None, None, "https://r.example.com")


def test_a_down_server_is_a_service_error(spec_path: Path) -> None:
    submission = prepare(spec_path, None, "sample", None, "https://registry.example.com")
    server = pipeline_server(ServerOptions(endpoint=f"http://127.0.0.1:{_free_port()}"), {})
    with pytest.raises(ServiceError, match=r"pipeline server http://127\.0\.0\.1:.*failed"):
        submit(submission, server, out=lambda line: None)


def test_cli_bad_input_exits_2_without_traceback(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["pipeline", "run", "--spec", str(spec_path), "--data", "nonsense", "--registry-url", "https://r.x"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --data nonsense") and "Traceback" not in err
    assert main(["pipeline", "run", "--spec", str(spec_path), "--local", "--dry-run"]) == 2


@pytest.mark.parametrize("option", [["--server-ca-file", "ca.pem"], ["--server-insecure"], ["--wait"]])
def test_local_runs_refuse_pipeline_server_options(
    spec_path: Path, option: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --local run has no pipeline server: its options are refused (exit 2, named), not ignored."""
    import pipelines.local

    def no_services(*args: object, **kwargs: object) -> None:
        raise AssertionError("services were contacted")

    monkeypatch.setattr(pipelines.local, "connect_or_start_local", no_services)
    monkeypatch.setenv("JUKEBOX_STATE_DIR", str(spec_path.parent.parent / "local-state"))
    code = main(["pipeline", "run", "--spec", str(spec_path), "--local", *option])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {option[0]}: for cluster runs") and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--s3-endpoint", "http://s3.x"], "connection Secret"),
        (["--s3-bucket", "b"], "connection Secret"),
        (["--s3-region", "eu-west-1"], "connection Secret"),
        (["--registry-token-file", "t"], "from its pods"),
        (["--ca-file", "ca.pem"], "from its pods"),
        (["--insecure"], "from its pods"),
    ],
)
def test_cluster_runs_refuse_this_machines_connection_options(
    spec_path: Path, option: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pipeline's pods connect to S3 and the registry themselves: these options would be silently ignored."""
    argv = ["pipeline", "run", "--spec", str(spec_path), "--registry-url", "https://r.x", "--dry-run", *option]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {option[0]}: a cluster run") and says in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_in_a_pod_the_connection_comes_from_the_secret_and_the_pod_token(tmp_path: Path) -> None:
    from generator.loader import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "specs" / "jukebox.yaml")
    assert connection_environment(spec, "", {"A": "1"}, tmp_path) == {"A": "1"}  # not a pod: unchanged
    (tmp_path / "namespace").write_text("jukebox-dev")
    (tmp_path / "token").write_text("pod-token")
    pod = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "AWS_S3_ENDPOINT": "http://minio:9000"}
    with pytest.raises(InputError, match="registry_url is empty"):
        connection_environment(spec, "", pod, tmp_path)
    env = connection_environment(spec, "https://registry", pod, tmp_path)
    assert env["JUKEBOX_REGISTRY_TOKEN_FILE"] == str(tmp_path / "token")
    data = {k: base64.b64encode(v.encode()).decode() for k, v in {"AWS_S3_ENDPOINT": "http://m:9000"}.items()}
    with pytest.raises(InputError, match="AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"):
        decode_secret_data(data, ("AWS_S3_ENDPOINT",), "ns/aws-connection-models")
