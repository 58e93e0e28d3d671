"""Cluster provisioning: the platform layer, credential Secrets and the Argo CD bootstrap (kind, OpenShift).

`scripts/provision --target openshift|kind --spec FILE [--dry-run]`; see docs/provisioning.md.
"""
