"""Release: trained ONNX model -> S3 (OVMS layout) -> Model Registry -> pin file -> rendered manifests.

`release.local` (embedded S3 + registry for offline work) is a separate sub-package.
"""
