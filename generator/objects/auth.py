"""Token auth for an environment's model: who may call it.

With `tokenAuth` on, OpenShift AI checks each request's bearer token by asking whether its owner may
`get` the InferenceService. The dashboard grants that to a ServiceAccount through a Role; we emit the
same three objects so `oc create token <model>-sa` gives a working client token (docs/security.md).
"""

from __future__ import annotations

from generator.environments import EnvironmentView
from generator.objects.common import WAVE_RBAC, Manifest, role_ref, wave


def client_service_account_name(model: str) -> str:
    return f"{model}-sa"


def token_auth_objects(env: EnvironmentView, root: str) -> list[Manifest]:
    if not env.serving.token_auth:
        return []
    model = env.spec.model.name
    account = client_service_account_name(model)
    role = f"{model}-view-role"
    return [
        Manifest(
            path=f"{root}/serviceaccount-{account}.yaml",
            kind="ServiceAccount",
            name=account,
            context={"annotations": wave(WAVE_RBAC)},
        ),
        Manifest(
            path=f"{root}/role-{role}.yaml",
            kind="Role",
            name=role,
            context={
                "annotations": wave(WAVE_RBAC),
                "rules": [
                    {
                        "apiGroups": ["serving.kserve.io"],
                        "resources": ["inferenceservices"],
                        "resourceNames": [model],
                        "verbs": ["get"],
                    }
                ],
            },
        ),
        Manifest(
            path=f"{root}/rolebinding-{model}-view.yaml",
            kind="RoleBinding",
            name=f"{model}-view",
            context={
                "annotations": wave(WAVE_RBAC),
                "role_ref": role_ref("Role", role),
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": env.namespace}],
            },
        ),
    ]
