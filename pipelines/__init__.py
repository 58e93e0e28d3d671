"""Training on the cluster: a Kubeflow Pipelines v2 pipeline built from the project's own functions.

load data -> train -> evaluate + quality gate -> publish to S3 -> register in the Model Registry
(`pipelines.definition`). Each step is a lightweight Python component whose body calls `pipelines.steps`,
which calls `training.train` and `release.flow`; nothing is reimplemented. `jukebox render` compiles it
into Kubernetes-native Pipeline/PipelineVersion objects (`pipelines.compiled`); `jukebox pipeline run`
submits a run to the cluster (`pipelines.submit`) or runs it in-process (`pipelines.local`).
The pipeline never writes to git: pin what it registered with `jukebox pin` or `jukebox pipeline pin`.
"""
