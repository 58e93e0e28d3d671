"""`jukebox policy`: the security gate CI runs on every change.

- checkov (offline, `--framework kubernetes`) over the Kustomize build of every deployable directory
  (each Argo CD Application's source and the bootstrap): zero failed checks allowed. `base/` is never
  deployed alone and is scanned inside every overlay. Skips live next to the resource as
  `checkov.io/skip*` annotations with their reason.
- detect-secrets over every file git tracks plus the generated tree: zero findings allowed. Lines that
  hold sha256 digests (image digests, model checksums) or git commit ids are excluded: they are high-entropy
  by nature.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from generator.layout import MANIFESTS_DIR
from generator.validate import kustomize_directories
from jukebox.errors import ServiceError

# Lines holding digests (image digests, model checksums: `sha256`) or git commit ids (`commit: <40 hex>`,
# generator/crd_sources.yaml; detect-secrets sees YAML values quoted): public identifiers, high-entropy by nature.
# Digests and commits; and Kubernetes references to Secrets (a `secretName` holds a Secret's name, a DSPA
# `secretKey` the name of a key in it), which detect-secrets 1.5.0's keyword plugin reports (checkov's fork
# bc-detect-secrets, once installed over it in .venv, did not).
SECRET_SCAN_EXCLUDED_LINES = r"sha256|commit: .?[0-9a-f]{40}|secretName\"?: |secretKey\"?: \"?[A-Z][A-Z0-9_]*\b"


@dataclass
class PolicyReport:
    scanned_builds: list[str] = field(default_factory=list)
    checkov_passed: int = 0
    checkov_skipped: list[str] = field(default_factory=list)
    checkov_failed: list[str] = field(default_factory=list)
    secret_files_scanned: int = 0
    secrets_found: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.checkov_failed or self.secrets_found)

    def summary(self) -> str:
        lines = [f"checkov failed: {failure}" for failure in self.checkov_failed]
        lines += [f"secret found: {finding}" for finding in self.secrets_found]
        lines += [f"checkov skipped: {skip}" for skip in self.checkov_skipped]
        lines.append(
            f"policy: checkov {self.checkov_passed} passed, {len(self.checkov_failed)} failed, "
            f"{len(self.checkov_skipped)} skipped over {len(self.scanned_builds)} builds; "
            f"secrets: {len(self.secrets_found)} found in {self.secret_files_scanned} files"
        )
        return "\n".join(lines)


def _tool(name: str) -> str:
    """A dev tool: beside this Python, in the isolated tools venv (.venv/tools: checkov), else on PATH."""
    bin_dir = Path(sys.executable).parent
    candidates = [bin_dir / name, bin_dir.parent / "tools" / "bin" / name]
    found = next((str(path) for path in candidates if path.is_file()), None) or shutil.which(name)
    if not found:
        raise ServiceError(f"{name} not found: run ./scripts/bootstrap (it installs the dev tools into .venv)")
    return found


def deployable_directories(manifests: Path) -> list[Path]:
    return [d for d in kustomize_directories(manifests) if d.name != "base"]


def write_builds(manifests: Path, out: Path) -> list[str]:
    from generator.validate import kubectl_binary

    names = []
    for directory in deployable_directories(manifests):
        name = directory.relative_to(manifests).as_posix().replace("/", "_") or "root"
        result = subprocess.run(
            [kubectl_binary(), "kustomize", str(directory)], capture_output=True, text=True, check=False, timeout=120
        )
        if result.returncode != 0:
            raise ServiceError(f"kubectl kustomize {directory} failed:\n{result.stderr.strip()}")
        (out / f"{name}.yaml").write_text(result.stdout, encoding="utf-8")
        names.append(directory.relative_to(manifests.parent).as_posix())
    return names


def run_checkov(manifests: Path, report: PolicyReport) -> None:
    with tempfile.TemporaryDirectory(prefix="jukebox-checkov-") as tmp:
        report.scanned_builds = write_builds(manifests, Path(tmp))
        command = [_tool("checkov"), "-d", tmp, "--framework", "kubernetes", "--skip-download", "-o", "json"]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    try:
        parsed = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ServiceError(
            f"checkov gave no JSON report (exit {result.returncode}):\n{result.stderr[-2000:]}"
        ) from None
    for section in parsed if isinstance(parsed, list) else [parsed]:
        results = section.get("results", {})
        report.checkov_passed += int(section.get("summary", {}).get("passed", 0))
        report.checkov_failed += [_describe(check) for check in results.get("failed_checks", [])]
        report.checkov_skipped += [
            f"{_describe(check)}: {check.get('check_result', {}).get('suppress_comment', '')}"
            for check in results.get("skipped_checks", [])
        ]


def _describe(check: dict[str, object]) -> str:
    return f"{check.get('check_id')} {check.get('resource')} ({check.get('check_name')})"


def tracked_files(root: Path) -> list[Path]:
    result = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=False, timeout=60)
    if result.returncode != 0:
        return [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts and ".venv" not in p.parts]
    return [root / name for name in result.stdout.decode().split("\0") if name]


def run_secret_scan(files: list[Path], report: PolicyReport) -> None:
    existing = sorted({str(f) for f in files if f.is_file()})
    report.secret_files_scanned = len(existing)
    if not existing:
        return
    # detect-secrets drops paths outside the git work tree of its cwd: run it from the files' common folder.
    base = Path(os.path.commonpath(existing))
    base = base if base.is_dir() else base.parent
    relative = [os.path.relpath(name, base) for name in existing]
    command = [_tool("detect-secrets"), "scan", "--all-files", "--exclude-lines", SECRET_SCAN_EXCLUDED_LINES, *relative]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600, cwd=base)
    if result.returncode != 0:
        raise ServiceError(f"detect-secrets failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    for filename, findings in sorted(json.loads(result.stdout).get("results", {}).items()):
        report.secrets_found += [f"{base / filename}:{item['line_number']}: {item['type']}" for item in findings]


def policy_scan(root: Path) -> PolicyReport:
    report = PolicyReport()
    manifests = root / MANIFESTS_DIR
    run_checkov(manifests, report)
    generated = [p for p in manifests.rglob("*") if p.is_file()]
    run_secret_scan([*tracked_files(root), *generated], report)
    return report
