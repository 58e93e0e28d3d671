"""The local Model Registry's HTTP API (aiohttp.web), a subset of Kubeflow Model Registry REST v1alpha3.

Served under both `/api/model_registry/v1alpha3` and `/api/model_registry/v1`: every path and method of
the OpenAPI document for RegisteredModel, ModelVersion, ModelArtifact and generic artifacts. Errors are
`{"code": "<http status>", "message": ...}` like upstream. `filterQuery` is not implemented (400).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from release.local.registry_kinds import (
    ARTIFACT_KINDS,
    KINDS,
    MODEL_ARTIFACT,
    MODEL_VERSION,
    REGISTERED_MODEL,
    Kind,
    artifact_kind,
    creation_fields,
    full_resource,
    update_fields,
)
from release.local.registry_store import BadPageToken, Conflict, ListQuery, RegistryStore

BASE_PATHS = ("/api/model_registry/v1alpha3", "/api/model_registry/v1")
STORE_KEY = web.AppKey("store", RegistryStore)
TOKEN_KEY = web.AppKey("token", str)
ID_PATTERN = re.compile(r"^[1-9][0-9]{0,8}$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error answered as `{"code", "message"}` with its HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"code": str(status), "message": message}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn ApiError, validation and conflict errors into upstream-shaped error bodies."""
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error.status, error.message)
    except Conflict as error:
        return error_response(409, str(error))
    except (ValueError, json.JSONDecodeError) as error:
        return error_response(400, str(error))
    except web.HTTPException as error:
        if error.status >= 400:
            return error_response(error.status, error.reason)
        raise


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """When a token is configured, API paths need `Authorization: Bearer <token>`."""
    token = request.app.get(TOKEN_KEY, "")
    if token and request.path.startswith("/api/"):
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return error_response(401, "missing or invalid bearer token")
    return await handler(request)


# ---------------------------------------------------------------- request helpers


def store_of(request: web.Request) -> RegistryStore:
    return request.app[STORE_KEY]


def parse_id(value: str | None, what: str) -> int:
    if value is None or not ID_PATTERN.match(value):
        raise ApiError(400, f"invalid {what} {value!r}: must match ^[1-9][0-9]{{0,8}}$")
    return int(value)


def optional_id(request: web.Request, key: str) -> int | None:
    value = request.query.get(key)
    return None if value is None else parse_id(value, key)


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError as error:
        raise ApiError(400, f"the request body is not valid JSON: {error}") from error
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def list_query(request: web.Request, kinds: tuple[str, ...], parent_id: int | None = None) -> ListQuery:
    """Paging, ordering and the optional name/externalId/artifactType filters of a list request."""
    query = request.query
    if query.get("filterQuery"):
        raise ApiError(400, "filterQuery is not supported by the local registry")
    order_by = query.get("orderBy") or "ID"
    sort_order = query.get("sortOrder") or "ASC"
    if order_by not in ("ID", "CREATE_TIME", "LAST_UPDATE_TIME") or sort_order not in ("ASC", "DESC"):
        raise ApiError(400, f"invalid orderBy {order_by!r} or sortOrder {sort_order!r}")
    if query.get("artifactType"):
        kinds = (artifact_kind({}, query["artifactType"]).name,)
    return ListQuery(
        kinds=kinds,
        parent_id=parent_id,
        name=query.get("name"),
        external_id=query.get("externalId"),
        page_size=parse_id(query.get("pageSize", "100"), "pageSize"),
        order_by=order_by,
        descending=sort_order == "DESC",
        page_token=query.get("nextPageToken", ""),
    )


def present(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the API answers it (validated through the client's full model)."""
    return full_resource(KINDS[row["_kind"]], {k: v for k, v in row.items() if not k.startswith("_")})


def list_response(store: RegistryStore, query: ListQuery) -> web.Response:
    try:
        page = store.list_page(query)
    except BadPageToken as error:
        raise ApiError(400, str(error)) from error
    items = [present(row) for row in page.rows]
    token = page.next_page_token
    return web.json_response({"items": items, "nextPageToken": token, "pageSize": query.page_size, "size": len(items)})


def require(row: dict[str, Any] | None, what: str, row_id: Any) -> dict[str, Any]:
    if row is None:
        raise ApiError(404, f"{what} with id {row_id} not found")
    return row


# ---------------------------------------------------------------- generic handlers


def make_find(kinds: tuple[str, ...], what: str, parent: bool) -> Handler:
    """GET /<singular>?name=&externalId=[&parentResourceId=]."""

    async def find(request: web.Request) -> web.Response:
        name, external_id = request.query.get("name"), request.query.get("externalId")
        if not name and not external_id:
            raise ApiError(400, "search needs name or externalId")
        parent_id = optional_id(request, "parentResourceId") if parent else None
        row = store_of(request).find(kinds, name, external_id, parent_id)
        if row is None:
            raise ApiError(404, f"no {what} found for {dict(request.query)}")
        return web.json_response(present(row))

    return find


def make_list(kinds: tuple[str, ...]) -> Handler:
    async def list_all(request: web.Request) -> web.Response:
        return list_response(store_of(request), list_query(request, kinds))

    return list_all


def make_get(kinds: tuple[str, ...], what: str, id_key: str) -> Handler:
    async def get(request: web.Request) -> web.Response:
        row_id = parse_id(request.match_info[id_key], id_key)
        return web.json_response(present(require(store_of(request).get(row_id, kinds), what, row_id)))

    return get


def make_patch(kinds: tuple[str, ...], what: str, id_key: str) -> Handler:
    async def patch(request: web.Request) -> web.Response:
        row_id = parse_id(request.match_info[id_key], id_key)
        body = await json_body(request)
        store = store_of(request)
        current = require(store.get(row_id, kinds), what, row_id)
        kind = KINDS[current["_kind"]]
        if kind.is_artifact and body.get("artifactType") not in (None, kind.name):
            raise ApiError(400, f"artifact {row_id} is a {kind.name}, not a {body['artifactType']}")
        row = store.update(row_id, kinds, update_fields(kind, body))
        return web.json_response(present(require(row, what, row_id)))

    return patch


def create_resource(store: RegistryStore, kind: Kind, body: dict[str, Any], parent_id: int | None) -> web.Response:
    row = store.insert(kind.name, creation_fields(kind, body), parent_id)
    return web.json_response(present(row), status=201)


def make_create(kind_name: str | None) -> Handler:
    """POST a new registered model, model artifact or (kind_name None) any artifact type."""

    async def create(request: web.Request) -> web.Response:
        body = await json_body(request)
        kind = KINDS[kind_name] if kind_name else artifact_kind(body)
        return create_resource(store_of(request), kind, body, None)

    return create


# ---------------------------------------------------------------- model versions


def existing_model(store: RegistryStore, model_id: int, status: int = 404) -> None:
    if store.get(model_id, (REGISTERED_MODEL,)) is None:
        raise ApiError(status, f"registered model with id {model_id} not found")


async def create_version(request: web.Request) -> web.Response:
    """POST /model_versions: the parent comes from the body's registeredModelId."""
    body = await json_body(request)
    store = store_of(request)
    model_id = parse_id(body.get("registeredModelId"), "registeredModelId")
    existing_model(store, model_id, status=422)
    return create_resource(store, KINDS[MODEL_VERSION], body, model_id)


async def create_model_version(request: web.Request) -> web.Response:
    """POST /registered_models/{id}/versions: the parent comes from the path."""
    model_id = parse_id(request.match_info["registeredmodelId"], "registeredmodelId")
    body = {**await json_body(request), "registeredModelId": str(model_id)}
    store = store_of(request)
    existing_model(store, model_id)
    return create_resource(store, KINDS[MODEL_VERSION], body, model_id)


async def list_model_versions(request: web.Request) -> web.Response:
    model_id = parse_id(request.match_info["registeredmodelId"], "registeredmodelId")
    store = store_of(request)
    existing_model(store, model_id)
    return list_response(store, list_query(request, (MODEL_VERSION,), model_id))


def existing_version(store: RegistryStore, version_id: int) -> None:
    if store.get(version_id, (MODEL_VERSION,)) is None:
        raise ApiError(404, f"model version with id {version_id} not found")


async def list_version_artifacts(request: web.Request) -> web.Response:
    version_id = parse_id(request.match_info["modelversionId"], "modelversionId")
    store = store_of(request)
    existing_version(store, version_id)
    return list_response(store, list_query(request, ARTIFACT_KINDS, version_id))


async def upsert_version_artifact(request: web.Request) -> web.Response:
    """POST /model_versions/{id}/artifacts: create (201) or update and attach an existing one (200)."""
    version_id = parse_id(request.match_info["modelversionId"], "modelversionId")
    body = await json_body(request)
    kind = artifact_kind(body)
    store = store_of(request)
    existing_version(store, version_id)
    if not body.get("id"):
        return create_resource(store, kind, body, version_id)
    artifact_id = parse_id(body["id"], "id")
    current = require(store.get(artifact_id, (kind.name,)), kind.name, artifact_id)
    if current["_parent"] not in (None, str(version_id)):
        raise ApiError(409, f"artifact {artifact_id} already belongs to model version {current['_parent']}")
    row = store.update(artifact_id, (kind.name,), update_fields(kind, body), parent_id=version_id)
    return web.json_response(present(require(row, kind.name, artifact_id)))


# ---------------------------------------------------------------- routes and app


def resource_routes(
    base: str, singular: str, kinds: tuple[str, ...], what: str, id_key: str, create: Handler
) -> list[web.RouteDef]:
    """find (GET /<singular>), list/create (/<singular>s), get/patch (/<singular>s/{id})."""
    plural = f"{base}/{singular}s"
    return [
        web.get(f"{base}/{singular}", make_find(kinds, what, parent=singular != "registered_model")),
        web.get(plural, make_list(kinds)),
        web.post(plural, create),
        web.get(f"{plural}/{{{id_key}}}", make_get(kinds, what, id_key)),
        web.patch(f"{plural}/{{{id_key}}}", make_patch(kinds, what, id_key)),
    ]


def add_routes(app: web.Application, base: str) -> None:
    rm_id, mv_id = "{registeredmodelId}", "{modelversionId}"
    app.router.add_routes(
        [
            *resource_routes(
                base,
                "registered_model",
                (REGISTERED_MODEL,),
                "registered model",
                "registeredmodelId",
                make_create(REGISTERED_MODEL),
            ),
            web.get(f"{base}/registered_models/{rm_id}/versions", list_model_versions),
            web.post(f"{base}/registered_models/{rm_id}/versions", create_model_version),
            *resource_routes(
                base, "model_version", (MODEL_VERSION,), "model version", "modelversionId", create_version
            ),
            web.get(f"{base}/model_versions/{mv_id}/artifacts", list_version_artifacts),
            web.post(f"{base}/model_versions/{mv_id}/artifacts", upsert_version_artifact),
            *resource_routes(
                base,
                "model_artifact",
                (MODEL_ARTIFACT,),
                "model artifact",
                "modelartifactId",
                make_create(MODEL_ARTIFACT),
            ),
            *resource_routes(base, "artifact", ARTIFACT_KINDS, "artifact", "id", make_create(None)),
        ]
    )


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(db_path: Path, token: str | None = None) -> web.Application:
    """The registry application over the SQLite database at `db_path` (created when missing)."""
    app = web.Application(middlewares=[errors_middleware, auth_middleware], client_max_size=16 * 1024**2)
    store = RegistryStore(db_path)
    app[STORE_KEY] = store
    app[TOKEN_KEY] = token or ""
    for base in BASE_PATHS:
        add_routes(app, base)
    app.router.add_get("/readyz", health)
    app.router.add_get("/healthz", health)

    async def close_store(_: web.Application) -> None:
        store.close()

    app.on_cleanup.append(close_store)
    return app
