"""One environment as the generator sees it: its namespace, its effective serving settings, its pin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.pin_file import Pin
from generator.spec import Resources, Serving, ServingOverrides, Spec

# The OpenShift AI dashboard's model server sizes: (cpu request, memory request, cpu limit, memory limit).
SIZES: dict[str, tuple[str, str, str, str]] = {
    "Small": ("1", "4Gi", "2", "8Gi"),
    "Medium": ("4", "8Gi", "8", "10Gi"),
    "Large": ("6", "16Gi", "10", "20Gi"),
}


@dataclass(frozen=True)
class EnvironmentView:
    spec: Spec
    name: str
    namespace: str
    serving: Serving
    pin: Pin | None


def merged_serving(base: Serving, overrides: ServingOverrides) -> Serving:
    """`base` with every field the environment sets replaced; an env `size` beats base `resources`."""
    updates: dict[str, Any] = {name: value for name, value in overrides if value is not None}
    if overrides.size is not None and overrides.resources is None:
        updates["resources"] = None
    return base.model_copy(update=updates)


def environment_views(spec: Spec, pins: dict[str, Pin | None]) -> list[EnvironmentView]:
    return [
        EnvironmentView(
            spec=spec,
            name=name,
            namespace=env.namespace,
            serving=merged_serving(spec.serving, env.serving),
            pin=pins.get(name),
        )
        for name, env in sorted(spec.environments.items())
    ]


def serving_resources(serving: Serving) -> dict[str, Any]:
    explicit: Resources | None = serving.resources
    if explicit is not None:
        return explicit.model_dump(mode="json")
    cpu_request, memory_request, cpu_limit, memory_limit = SIZES[serving.size]
    return {
        "requests": {"cpu": cpu_request, "memory": memory_request},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }
