"""Embedded local services (S3 + Model Registry) for running the release loop without a cluster."""
