"""The cluster as the provisioning steps see it: get, apply-if-different, wait, and a diagnostic dump."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from jukebox.errors import ServiceError
from provisioning.objects import FIELD_MANAGER, identity, is_merged, resource_name, up_to_date
from provisioning.runner import CommandResult, CommandRunner


@dataclass
class ApplyReport:
    unchanged: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)


@dataclass
class Cluster:
    """`tool` is `oc` (OpenShift, through openshift-client) or `kubectl` (kind); `context` a kubeconfig context."""

    runner: CommandRunner
    tool: str
    context: str | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    log: Callable[[str], None] = print

    def argv(self, *args: str) -> list[str]:
        context = [f"--context={self.context}"] if self.context else []
        return [self.tool, *args[:1], *context, *args[1:]] if args else [self.tool, *context]

    def run(self, *args: str, stdin: str | None = None, timeout: float = 300) -> CommandResult:
        return self.runner.run(self.argv(*args), stdin=stdin, timeout=timeout)

    def check(self, *args: str, stdin: str | None = None, what: str = "", timeout: float = 300) -> str:
        result = self.run(*args, stdin=stdin, timeout=timeout)
        if not result.ok:
            raise ServiceError(f"{what or ' '.join(self.argv(*args))} failed: {result.stderr.strip() or result.stdout}")
        return result.stdout

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        args = ["get", resource, name, "-o", "json", "--ignore-not-found"]
        if namespace:
            args += ["-n", namespace]
        result = self.run(*args)
        if not result.ok:
            raise ServiceError(f"{self.tool} get {resource} {name}: {result.stderr.strip()}")
        return json.loads(result.stdout) if result.stdout.strip() else None

    def get_object(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        meta = obj["metadata"]
        return self.get(resource_name(obj), meta["name"], meta.get("namespace"))

    def apply(self, objects: Sequence[dict[str, Any]]) -> ApplyReport:
        """Server-side apply of the objects that differ from the cluster; the others are left alone."""
        report = ApplyReport()
        changed: list[dict[str, Any]] = []
        for obj in objects:
            if up_to_date(self.get_object(obj), obj):
                report.unchanged.append(identity(obj))
            else:
                changed.append(obj)
        own = [o for o in changed if not is_merged(o)]
        merged = [o for o in changed if is_merged(o)]
        for force, group in ((False, own), (True, merged)):
            if not group:
                continue
            args = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-"]
            if force:
                args.insert(3, "--force-conflicts")
            stream = yaml.safe_dump_all(group, sort_keys=True)
            self.check(*args, stdin=stream, what=f"apply {', '.join(identity(o) for o in group)}")
            report.applied += [identity(o) for o in group]
        return report

    def wait(self, what: str, done: Callable[[], str | None], timeout: float, interval: float = 5.0) -> None:
        """Poll `done` (None: not yet; a string: done, with a note) until `timeout` seconds have passed."""
        deadline = self.clock() + timeout
        while True:
            note = done()
            if note is not None:
                self.log(f"  ok: {what}{f' ({note})' if note else ''}")
                return
            if self.clock() >= deadline:
                raise TimeoutError(what)
            self.sleep(interval)

    # --- diagnostics ----------------------------------------------------------------------------------

    def diagnostics(self, namespaces: Sequence[str], extra: Sequence[tuple[str, str, str | None]] = ()) -> str:
        """Events, conditions of `extra` objects, and the logs of pods that are not ready, as text."""
        lines: list[str] = []
        for resource, name, namespace in extra:
            obj = self._quiet_get(resource, name, namespace)
            status = (obj or {}).get("status", {})
            lines.append(f"--- {resource} {namespace + '/' if namespace else ''}{name}")
            lines.append(yaml.safe_dump(status, sort_keys=True).rstrip() if obj else "  (not found)")
        for namespace in namespaces:
            events = self.run("get", "events", "-n", namespace, "--sort-by=.lastTimestamp")
            lines.append(f"--- events in {namespace}")
            lines.append("\n".join(events.stdout.strip().splitlines()[-20:]) or events.stderr.strip() or "  (none)")
            pods = self.run("get", "pods", "-n", namespace, "-o", "json")
            items = json.loads(pods.stdout).get("items", []) if pods.ok and pods.stdout.strip() else []
            for pod in items:
                ready = all(c.get("ready") for c in pod.get("status", {}).get("containerStatuses", []) or [{}])
                if ready:
                    continue
                name = pod["metadata"]["name"]
                lines.append(f"--- pod {namespace}/{name}: {pod.get('status', {}).get('phase')}")
                for condition in pod.get("status", {}).get("conditions", []):
                    if condition.get("status") != "True":
                        reason = f"{condition.get('reason', '')} {condition.get('message', '')}".strip()
                        lines.append(f"  {condition.get('type')}: {reason}")
                logs = self.run("logs", name, "-n", namespace, "--all-containers", "--tail=30")
                lines.append(logs.stdout.rstrip() or logs.stderr.rstrip() or "  (no logs)")
        return "\n".join(lines)

    def _quiet_get(self, resource: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        try:
            return self.get(resource, name, namespace)
        except (ServiceError, json.JSONDecodeError):
            return None
