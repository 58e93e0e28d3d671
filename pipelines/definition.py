"""The pipeline of one spec: load data -> train -> evaluate + gate -> publish -> register.

Compile-time values come from the spec (the step image, the spec itself as the `spec` parameter's
default, the namespace the lineage records); run-time values are parameters: `data`, `current_pin` (the
environment's pin file as JSON: the cluster has no git checkout, so `jukebox pipeline run` reads it and
passes it), `version`, `registry_url` and `repo` (where `git_commit` is read; empty on the cluster).
"""

# No `from __future__ import annotations`: kfp reads the pipeline function's annotations as types.

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator.spec import Spec
from jukebox.errors import CheckFailed
from pipelines.steps import spec_to_json

KFP_VERSION = "2.17.3"  # pinned in pyproject.toml: its version is part of the compiled pipeline (sdkVersion)
LOCAL_IMAGE = "python:3.11"  # never pulled: the local runner runs the steps in this interpreter
# Resources of the steps (IR `resources`, no platformSpec): training holds the data and the MLP in memory.
STEP_RESOURCES = {
    "train": ("1", "2", "2Gi", "8Gi"),
    "default": ("250m", "1", "512Mi", "2Gi"),
}


@dataclass(frozen=True)
class PipelineSettings:
    name: str  # Pipeline object and pipeline_info name
    description: str
    image: str
    spec_json: str
    data: str
    registry_url: str
    namespace: str  # lineage: model_source_group of what the pipeline registers


def pipeline_name(spec: Spec) -> str:
    return f"{spec.model.name}-training"


def settings_for(spec: Spec, *, local: bool = False) -> PipelineSettings:
    """The pipeline of `spec` as `jukebox render` compiles it (or, `local`, as the local runner runs it)."""
    section = spec.pipelines
    namespace = spec.environments[section.environment].namespace if section else "local"
    return PipelineSettings(
        name=pipeline_name(spec),
        description=f"{spec.model.display_name}: load data, train, evaluate and gate, publish to S3, register",
        image=section.image if section and not local else LOCAL_IMAGE,
        spec_json=spec_to_json(spec),
        data=section.data if section else "upstream",
        registry_url=(section.registry_url or "") if section else "",
        namespace="local" if local else namespace,
    )


def require_kfp() -> Any:
    try:
        import kfp
    except ModuleNotFoundError:
        raise CheckFailed(
            "the pipeline needs kfp (the `pipelines` extra): run ./scripts/bootstrap, or "
            "pip install -c constraints.txt -e '.[pipelines]'"
        ) from None
    if kfp.__version__ != KFP_VERSION:
        raise CheckFailed(
            f"the pipeline is compiled with kfp {KFP_VERSION} (pyproject.toml); this environment has "
            f"{kfp.__version__}, whose output differs: run ./scripts/bootstrap"
        )
    return kfp


def build(settings: PipelineSettings) -> Callable[..., Any]:
    """The `@dsl.pipeline` function (callable under `kfp.local`, compilable by `kfp.compiler`)."""
    require_kfp()
    from kfp import dsl

    from pipelines import components

    def component(func: Callable[..., Any]) -> Any:
        return dsl.component(func, base_image=settings.image, install_kfp_package=False)

    load_op, train_op, evaluate_op = (
        component(components.load_data),
        component(components.train),
        component(components.evaluate),
    )
    publish_op, register_op = component(components.publish), component(components.register)

    @dsl.pipeline(name=settings.name, description=settings.description)
    def training(
        data: str = settings.data,
        current_pin: str = "",
        version: str = "",
        registry_url: str = settings.registry_url,
        repo: str = "",
        spec: str = settings.spec_json,
        namespace: str = settings.namespace,
    ) -> str:
        load = _configured(load_op(data=data), "load-data")
        trained = _configured(train_op(spec=spec, dataset=load.outputs["dataset"]), "train")
        evaluated = _configured(
            evaluate_op(spec=spec, current_pin=current_pin, model=trained.outputs["model"]), "evaluate"
        )
        published = _configured(
            publish_op(
                spec=spec, version=version, registry_url=registry_url, repo=repo, model=trained.outputs["model"]
            ),
            "publish",
        ).after(evaluated)
        registered = _configured(
            register_op(
                spec=spec,
                registration=published.output,
                registry_url=registry_url,
                run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
                run_name=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
                namespace=namespace,
            ),
            "register",
        )
        return registered.output

    return training


def _configured(task: Any, name: str) -> Any:
    """Name the task, size it, and never reuse a cached result: publish and register have effects, and a
    cached training run would hide a changed image."""
    cpu_request, cpu_limit, memory_request, memory_limit = STEP_RESOURCES.get(name, STEP_RESOURCES["default"])
    task.set_display_name(name)
    task.set_caching_options(False)
    task.set_cpu_request(cpu_request).set_cpu_limit(cpu_limit)
    task.set_memory_request(memory_request).set_memory_limit(memory_limit)
    return task
