"""The Data Science Project of one environment: its Namespace and the admins' RoleBinding."""

from __future__ import annotations

from generator.environments import EnvironmentView
from generator.objects.common import DASHBOARD_LABEL, WAVE_NAMESPACE, WAVE_RBAC, Manifest, role_ref, wave
from generator.spec import Spec

ADMINS_ROLEBINDING = "jukebox-project-admins"


def namespace(env: EnvironmentView, path: str) -> Manifest:
    spec = env.spec
    return Manifest(
        path=path,
        kind="Namespace",
        name=env.namespace,
        context={
            # modelmesh-enabled=false selects KServe single-model serving in the dashboard.
            "labels": {**DASHBOARD_LABEL, "modelmesh-enabled": "false"},
            "annotations": {
                **wave(WAVE_NAMESPACE),
                "openshift.io/display-name": f"{spec.project.display_name} ({env.name})",
                "openshift.io/description": spec.project.description,
            },
        },
    )


def admins_rolebinding(spec: Spec, path: str) -> Manifest | None:
    subjects = [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user} for user in spec.project.users
    ] + [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group} for group in spec.project.groups]
    if not subjects:
        return None
    return Manifest(
        path=path,
        kind="RoleBinding",
        name=ADMINS_ROLEBINDING,
        context={
            "annotations": wave(WAVE_RBAC),
            "role_ref": role_ref("ClusterRole", "admin"),
            "subjects": subjects,
        },
    )
