"""Clear failure messages: missing tools (PATH = an empty directory), not logged in, wrong cluster, permissions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jukebox.errors import ServiceError
from provisioning.runner import find_binary
from provisioning.targets import _permission

REPO = Path(__file__).resolve().parents[2]


def _provision(
    tmp_path: Path, *args: str, spec: Path = REPO / "specs" / "jukebox.yaml"
) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "provision"), "--spec", str(spec), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": str(empty), "HOME": str(tmp_path)},
    )


def test_missing_oc(tmp_path: Path) -> None:
    result = _provision(tmp_path, "--target", "openshift")
    assert result.returncode == 1
    assert "oc not found on PATH: install the OpenShift CLI" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_docker_for_kind(tmp_path: Path, kind_spec: Path) -> None:
    result = _provision(tmp_path, "--target", "kind", spec=kind_spec)
    assert result.returncode == 1
    assert "docker not found on PATH" in result.stderr and "Traceback" not in result.stderr


def test_missing_kind_when_creating_the_cluster(tmp_path: Path, kind_spec: Path) -> None:
    bin_dir = tmp_path / "empty-bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "docker").chmod(0o755)
    result = _provision(tmp_path, "--target", "kind", "--create-cluster", spec=kind_spec)
    assert result.returncode == 1 and "kind not found on PATH: install kind" in result.stderr


def test_dry_run_needs_no_tool(tmp_path: Path) -> None:
    result = _provision(tmp_path, "--target", "openshift", "--dry-run")
    assert result.returncode == 0, result.stderr


def test_bad_spec_is_exit_2(tmp_path: Path, kind_spec: Path) -> None:
    result = _provision(
        tmp_path, "--target", "kind", "--dry-run", "--secrets-file", str(tmp_path / "nope.yaml"), spec=kind_spec
    )
    assert result.returncode == 2 and "--secrets-file: not found" in result.stderr


@pytest.mark.parametrize(
    ("target", "use_kind_spec", "expected"),
    [
        (
            "kind",
            False,
            "platform.profile is rhoai-3.3, which runs on openshift; --target kind needs platform.profile: upstream",
        ),
        ("openshift", True, "--target openshift needs platform.profile: rhoai-2.22 or rhoai-3.3 or rhoai-3.5"),
    ],
)
def test_a_profile_that_does_not_fit_the_target_is_exit_2(
    tmp_path: Path, kind_spec: Path, target: str, use_kind_spec: bool, expected: str
) -> None:
    spec = kind_spec if use_kind_spec else REPO / "specs" / "jukebox.yaml"
    result = _provision(tmp_path, "--target", target, "--dry-run", spec=spec)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_exit_2(tmp_path: Path, value: str) -> None:
    result = _provision(tmp_path, "--target", "openshift", "--dry-run", "--timeout", value)
    assert result.returncode == 2 and "--timeout" in result.stderr and "Traceback" not in result.stderr


def test_find_binary_message(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="kind not found on PATH"):
        find_binary("kind", search_path=str(tmp_path))


def test_preflight_messages() -> None:
    from provisioning.cluster import Cluster
    from provisioning.runner import CommandResult, RecordingRunner
    from provisioning.steps import Check, Context

    runner = RecordingRunner(
        responses={
            ("oc", "whoami"): CommandResult(1, "", "error: You must be logged in to the server (Unauthorized)"),
        }
    )
    cluster = Cluster(runner, "oc", log=lambda _: None)
    from generator.loader import load_spec
    from provisioning.targets import Options, openshift_preflight

    spec = load_spec(REPO / "specs" / "jukebox.yaml")
    opts = Options(spec, [spec], REPO, lambda p: [], {}, expect_server="https://api.right:6443")
    checks = openshift_preflight(opts)
    assert isinstance(checks[0], Check)
    with pytest.raises(ServiceError, match=r"not logged in to an OpenShift cluster.*oc login"):
        checks[0].execute(Context(cluster, log=lambda _: None))
    wrong = checks[1]
    assert isinstance(wrong, Check)
    assert "wrong cluster: logged in to https://api.other:6443" in (
        wrong.verify(0, "https://api.other:6443\n", "") or ""
    )
    assert "not OpenShift" in (checks[2].verify(0, "", "") or "")  # type: ignore[attr-defined]
    assert "missing permissions" in (_permission("create", "secrets")(1, "no\n", "") or "")
    assert _permission("create", "secrets")(0, "yes\n", "") is None
