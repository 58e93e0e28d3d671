"""Provisioning steps: each one describes itself (the --dry-run plan) and runs against a Cluster."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jukebox.errors import ServiceError
from provisioning.cluster import Cluster
from provisioning.objects import FIELD_MANAGER, generated_resource, identity, redacted
from provisioning.upstream import APPLY_RETRY_PAUSE_SECONDS, UpstreamInstall

# KServe's installer gives its CRDs 60 s to be Established (v0.20.0 manage.kserve-kustomize.sh, wait_for_crds).
CRDS_ESTABLISHED_TIMEOUT_SECONDS = 60
CRDS_ESTABLISHED_TIMEOUT = f"{CRDS_ESTABLISHED_TIMEOUT_SECONDS}s"


@dataclass
class Context:
    cluster: Cluster
    timeout: float = 900.0
    log: Callable[[str], None] = print


def apply_command(tool: str, force: bool = False) -> str:
    extra = " --force-conflicts" if force else ""
    return f"{tool} apply --server-side{extra} --field-manager={FIELD_MANAGER} -f - (only objects that differ)"


def show(objects: list[dict[str, Any]]) -> list[str]:
    text = yaml.safe_dump_all([redacted(o) for o in objects], sort_keys=True, default_flow_style=False)
    return ["---", *text.rstrip().splitlines()] if objects else []


class Step:
    """Base of the steps; every subclass has a `title`."""

    title: str

    def objects(self) -> list[dict[str, Any]]:
        return []

    def describe(self, tool: str) -> list[str]:
        raise NotImplementedError

    def execute(self, ctx: Context) -> None:
        raise NotImplementedError


@dataclass
class Check(Step):
    """A preflight command; `verify` turns its result into an error message, or None when fine."""

    title: str
    argv: list[str]
    verify: Callable[[int, str, str], str | None]
    local: bool = False  # not a cluster call (docker, kind): no --context

    def describe(self, tool: str) -> list[str]:
        return [f"$ {' '.join(self.argv)}"]

    def execute(self, ctx: Context) -> None:
        result = ctx.cluster.runner.run(self.argv) if self.local else ctx.cluster.run(*self.argv[1:])
        problem = self.verify(result.returncode, result.stdout, result.stderr)
        if problem:
            raise ServiceError(problem)
        ctx.log(f"  ok: {self.title}")


@dataclass
class Command(Step):
    title: str
    argv: list[str]
    skip_if: Callable[[Context], str | None] | None = None
    timeout: float = 600

    def describe(self, tool: str) -> list[str]:
        return [f"$ {' '.join(self.argv)}"]

    def execute(self, ctx: Context) -> None:
        reason = self.skip_if(ctx) if self.skip_if else None
        if reason:
            ctx.log(f"  unchanged: {reason}")
            return
        result = ctx.cluster.runner.run(self.argv, timeout=self.timeout)
        if not result.ok:
            raise ServiceError(f"{' '.join(self.argv)} failed: {result.stderr.strip()}")


@dataclass
class ApplyObjects(Step):
    title: str
    items: list[dict[str, Any]]

    def objects(self) -> list[dict[str, Any]]:
        return self.items

    def describe(self, tool: str) -> list[str]:
        from provisioning.objects import is_merged

        return [f"$ {apply_command(tool, force=any(is_merged(o) for o in self.items))}", *show(self.items)]

    def execute(self, ctx: Context) -> None:
        report = ctx.cluster.apply(self.items)
        for name in report.applied:
            ctx.log(f"  applied: {name}")
        if report.unchanged:
            ctx.log(f"  unchanged: {len(report.unchanged)} object(s)")


@dataclass
class ApplySecrets(Step):
    """Secrets whose values are only known at run time (supplied, kept from the cluster, or generated)."""

    title: str
    build: Callable[[Callable[[str, str], dict[str, str] | None]], list[tuple[dict[str, Any], str]]]
    preview: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    def objects(self) -> list[dict[str, Any]]:
        return [obj for obj, _ in self.preview]

    def describe(self, tool: str) -> list[str]:
        lines = [f"$ {apply_command(tool)}"]
        lines += [f"# {identity(obj)}: values {source}" for obj, source in self.preview]
        return [*lines, *show(self.objects())]

    def execute(self, ctx: Context) -> None:
        def existing(name: str, namespace: str) -> dict[str, str] | None:
            from provisioning.objects import secret_data

            live = ctx.cluster.get("secret", name, namespace)
            return secret_data(live) if live else None

        built = self.build(existing)
        for obj, source in built:
            ctx.log(f"  {identity(obj)}: values {source}")
        ApplyObjects(self.title, [obj for obj, _ in built]).execute(ctx)


@dataclass
class ApplyKustomization(Step):
    """`kubectl kustomize DIR` locally (offline), then apply-if-different of what it builds."""

    title: str
    directory: Path
    build: Callable[[Path], list[dict[str, Any]]]
    shown_as: str = "."

    def objects(self) -> list[dict[str, Any]]:
        return self.build(self.directory)

    def describe(self, tool: str) -> list[str]:
        return [f"$ kubectl kustomize {self.shown_as} | {apply_command(tool)}", *show(self.objects())]

    def execute(self, ctx: Context) -> None:
        ApplyObjects(self.title, self.objects()).execute(ctx)


@dataclass
class InstallUpstream(Step):
    """A pinned release manifest; skipped when its probe Deployment already runs that version."""

    install: UpstreamInstall

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"install {self.install.name} {self.install.version} (upstream release manifest)"

    def _argv(self, tool: str, force: bool, url: str | None = None) -> list[str]:
        argv = [tool, "apply", "--server-side"]
        if force:
            argv.append("--force-conflicts")
        if self.install.namespace:
            argv += ["-n", self.install.namespace]
        return [*argv, "-f", url or self.install.url]

    def _crds_established_argv(self, tool: str) -> list[str]:
        return [tool, "wait", "--for=condition=Established", f"--timeout={CRDS_ESTABLISHED_TIMEOUT}", "-f"]

    def describe(self, tool: str) -> list[str]:
        probe = f"Deployment {self.install.probe_namespace}/{self.install.probe_deployment}"
        if self.install.marker:
            probe = f"{self.install.marker[0]} {self.install.marker[1]} exists and {probe}"
        lines = [f"# skipped when {probe} already runs {self.install.version}"]
        if self.install.crds_url:
            lines += [
                f"$ {' '.join(self._argv(tool, True, self.install.crds_url))}",
                f"$ {' '.join(self._crds_established_argv(tool))} {self.install.crds_url}",
            ]
        retry = f"  # up to {self.install.attempts} tries" if self.install.attempts > 1 else ""
        return [*lines, f"$ {' '.join(self._argv(tool, False))}{retry}"]

    def installed_version(self, ctx: Context) -> str | None:
        if self.install.marker and not ctx.cluster.get(*self.install.marker):
            return None
        live = ctx.cluster.get(
            generated_resource("Deployment"), self.install.probe_deployment, self.install.probe_namespace
        )
        if not live:
            return None
        images = [c.get("image", "") for c in live["spec"]["template"]["spec"].get("containers", [])]
        return next((image.rsplit(":", 1)[-1] for image in images if ":" in image), "unknown")

    def execute(self, ctx: Context) -> None:
        installed = self.installed_version(ctx)
        if installed == self.install.version:
            ctx.log(f"  unchanged: {self.install.name} {installed}")
            return
        upgrade = installed is not None
        if upgrade:
            ctx.log(f"  upgrading {self.install.name} {installed} -> {self.install.version}")
        what = f"install {self.install.name} {self.install.version}"
        if self.install.crds_url:
            self._install_crds(ctx, what)
        self._apply_with_retries(ctx, self._argv(ctx.cluster.tool, force=upgrade)[1:], what)
        ctx.log(f"  applied: {self.install.url}")

    def _install_crds(self, ctx: Context, what: str) -> None:
        url = self.install.crds_url or ""
        ctx.cluster.check(*self._argv(ctx.cluster.tool, True, url)[1:], what=f"{what}: CRDs", timeout=600)
        wait = [*self._crds_established_argv(ctx.cluster.tool)[1:], url]
        ctx.cluster.check(*wait, what=f"{what}: CRDs Established", timeout=CRDS_ESTABLISHED_TIMEOUT_SECONDS + 60)
        ctx.log(f"  CRDs established: {url}")

    def _apply_with_retries(self, ctx: Context, args: list[str], what: str) -> None:
        for attempt in range(1, self.install.attempts + 1):
            try:
                ctx.cluster.check(*args, what=what, timeout=600)
                return
            except ServiceError as error:
                if attempt == self.install.attempts:
                    raise
                ctx.log(f"  retrying in {APPLY_RETRY_PAUSE_SECONDS:.0f}s ({attempt}/{self.install.attempts}): {error}")
                ctx.cluster.sleep(APPLY_RETRY_PAUSE_SECONDS)


def _condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for condition in (obj or {}).get("status", {}).get("conditions", []) or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


@dataclass
class Wait(Step):
    """Poll until `ready(ctx)` returns a note; on timeout raise with a diagnostic dump."""

    title: str
    shown: list[str]
    ready: Callable[[Context], str | None]
    namespaces: list[str] = field(default_factory=list)
    watched: list[tuple[str, str, str | None]] = field(default_factory=list)
    timeout: float | None = None
    failure: str = ""

    def describe(self, tool: str) -> list[str]:
        return [f"# wait: {line}" for line in self.shown]

    def execute(self, ctx: Context) -> None:
        timeout = self.timeout or ctx.timeout
        try:
            ctx.cluster.wait(self.title, lambda: self.ready(ctx), timeout)
        except TimeoutError:
            dump = ctx.cluster.diagnostics(self.namespaces, self.watched)
            message = self.failure or f"timed out after {timeout:.0f}s: {self.title}"
            raise ServiceError(f"{message}\n--- diagnostics\n{dump}") from None


# --- readiness probes used by the waits ---------------------------------------------------------------


def deployments_available(namespace: str, names: tuple[str, ...]) -> Callable[[Context], str | None]:
    def ready(ctx: Context) -> str | None:
        for name in names:
            live = ctx.cluster.get(generated_resource("Deployment"), name, namespace)
            condition = _condition(live, "Available")
            if not condition or condition.get("status") != "True":
                return None
        return f"{len(names)} Deployment(s) available"

    return ready


def workloads_ready(
    namespace: str, deployments: tuple[str, ...], statefulsets: tuple[str, ...] = ()
) -> Callable[[Context], str | None]:
    """Every Deployment Available and every StatefulSet with all its replicas ready."""
    deployments_ready = deployments_available(namespace, deployments)

    def ready(ctx: Context) -> str | None:
        if deployments and deployments_ready(ctx) is None:
            return None
        for name in statefulsets:
            status = (ctx.cluster.get("statefulset.v1.apps", name, namespace) or {}).get("status", {})
            if not status.get("replicas") or status.get("readyReplicas") != status.get("replicas"):
                return None
        return f"{len(deployments)} Deployment(s) and {len(statefulsets)} StatefulSet(s) ready"

    return ready


def csv_succeeded(namespace: str, subscription: str) -> Callable[[Context], str | None]:
    def ready(ctx: Context) -> str | None:
        sub = ctx.cluster.get(generated_resource("Subscription"), subscription, namespace)
        csv_name = (sub or {}).get("status", {}).get("installedCSV")
        if not csv_name:
            return None
        csv = ctx.cluster.get("clusterserviceversion.v1alpha1.operators.coreos.com", csv_name, namespace)
        return csv_name if (csv or {}).get("status", {}).get("phase") == "Succeeded" else None

    return ready


def crds_established(names: tuple[str, ...]) -> Callable[[Context], str | None]:
    def ready(ctx: Context) -> str | None:
        for name in names:
            crd = ctx.cluster.get("customresourcedefinition.v1.apiextensions.k8s.io", name)
            condition = _condition(crd, "Established")
            if not condition or condition.get("status") != "True":
                return None
        return ", ".join(names)

    return ready


def condition_true(resource: str, name: str, namespace: str | None, kind: str) -> Callable[[Context], str | None]:
    def ready(ctx: Context) -> str | None:
        live = ctx.cluster.get(resource, name, namespace)
        condition = _condition(live, kind)
        if condition and condition.get("status") == "True":
            return f"{kind}=True"
        phase = (live or {}).get("status", {}).get("phase")
        return f"phase {phase}" if kind == "Ready" and phase == "Ready" else None

    return ready


def phase_is(resource: str, name: str, namespace: str | None, phase: str) -> Callable[[Context], str | None]:
    """Done when the object exists and its `status.phase` is `phase` (operators' CRs such as ArgoCD)."""

    def ready(ctx: Context) -> str | None:
        live = ctx.cluster.get(resource, name, namespace)
        return f"phase {phase}" if (live or {}).get("status", {}).get("phase") == phase else None

    return ready


def applications_healthy(namespace: str, names: tuple[str, ...]) -> Callable[[Context], str | None]:
    def ready(ctx: Context) -> str | None:
        for name in names:
            app = ctx.cluster.get(generated_resource("Application"), name, namespace)
            status = (app or {}).get("status", {})
            if status.get("sync", {}).get("status") != "Synced" or status.get("health", {}).get("status") != "Healthy":
                return None
        return f"{len(names)} Application(s) Synced/Healthy"

    return ready


def kustomize_build(kubectl: str, runner_run: Callable[..., Any]) -> Callable[[Path], list[dict[str, Any]]]:
    def build(directory: Path) -> list[dict[str, Any]]:
        result = runner_run([kubectl, "kustomize", str(directory)])
        if not result.ok:
            raise ServiceError(f"kubectl kustomize {directory} failed: {result.stderr.strip()}")
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return build


def as_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)
