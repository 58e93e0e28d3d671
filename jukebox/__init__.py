"""jukebox: GitOps for the OpenShift AI model inner loop (spec -> manifests -> Argo CD)."""

__version__ = "0.1.0"
