"""The pipeline's lightweight Python components. KFP compiles each function's source into the pipeline, so
each body imports what it uses and only calls `pipelines.steps` (the image has the project installed)."""

from kfp.dsl import HTML, Dataset, Input, Metrics, Model, Output


def load_data(data: str, dataset: Output[Dataset]) -> None:
    from pipelines.steps import load_data_step, run_step

    dataset.metadata.update(run_step(load_data_step, data, dataset.path))


def train(spec: str, dataset: Input[Dataset], model: Output[Model]) -> None:
    from pipelines.steps import run_step, train_step

    model.metadata.update(run_step(train_step, spec, dataset.path, model.path))


def evaluate(
    spec: str, current_pin: str, model: Input[Model], metrics: Output[Metrics], confusion_matrix: Output[HTML]
) -> str:
    from pipelines.steps import evaluate_step, run_step

    evaluation = run_step(evaluate_step, spec, current_pin, model.path, confusion_matrix.path)
    for name, value in sorted(evaluation.metrics.items()):
        metrics.log_metric(name, value)
    return evaluation.gate


def publish(spec: str, version: str, registry_url: str, repo: str, model: Input[Model]) -> str:
    from pipelines.steps import publish_step, run_step

    return run_step(publish_step, spec, version, registry_url, repo, model.path)


def register(spec: str, registration: str, registry_url: str, run_id: str, run_name: str, namespace: str) -> str:
    from pipelines.steps import register_step, run_step

    return run_step(register_step, spec, registration, registry_url, run_id, run_name, namespace)
