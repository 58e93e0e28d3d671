"""SQLite persistence for the local Model Registry.

One table holds every resource: typed columns for what is searched, ordered or must be unique, and the
rest of the resource as JSON. Uniqueness is enforced by the database (UNIQUE indexes inside IMMEDIATE
transactions), so two clients racing to create the same version cannot both win, even across processes.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT,
    external_id TEXT,
    parent_id INTEGER REFERENCES resources(id),
    create_ms INTEGER NOT NULL,
    update_ms INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_unique_name
    ON resources(kind, IFNULL(parent_id, 0), name) WHERE name IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS resources_unique_external_id
    ON resources(external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_parent ON resources(parent_id, kind);
"""

ORDER_COLUMNS = {"ID": "id", "CREATE_TIME": "create_ms", "LAST_UPDATE_TIME": "update_ms"}
MAX_ID = 999_999_999  # the API's id pattern: ^[1-9][0-9]{0,8}$


class Conflict(Exception):
    """A create or update would break a uniqueness rule (name within its scope, externalId)."""


class BadPageToken(ValueError):
    """A nextPageToken this server did not issue."""


@dataclass(frozen=True)
class Page:
    """One page of a list: the rows and the token of the next page ("" on the last one)."""

    rows: list[dict[str, Any]]
    next_page_token: str


@dataclass(frozen=True)
class ListQuery:
    """Which rows to list and how: kinds, optional parent and filters, ordering and paging."""

    kinds: Sequence[str]
    parent_id: int | None = None
    name: str | None = None
    external_id: str | None = None
    page_size: int = 100
    order_by: str = "ID"
    descending: bool = False
    page_token: str = ""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _encode_token(sort_value: int, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort_value, row_id]).encode()).decode()


def _decode_token(token: str) -> tuple[int, int]:
    try:
        sort_value, row_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(sort_value), int(row_id)
    except (ValueError, TypeError, binascii.Error) as error:
        raise BadPageToken(f"invalid nextPageToken {token!r}") from error


class RegistryStore:
    """Thread-safe access to the registry database (one connection, serialised by a lock)."""

    def __init__(self, db_path: Path):
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def insert(self, kind: str, body: dict[str, Any], parent_id: int | None = None) -> dict[str, Any]:
        """Store a new resource; returns it with id and timestamps. Conflict on a duplicate."""
        now = _now_ms()
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT INTO resources (kind, name, external_id, parent_id, create_ms, update_ms, body)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (kind, body.get("name"), body.get("externalId"), parent_id, now, now, json.dumps(body)),
                )
                row_id = cursor.lastrowid
                if row_id is None or row_id > MAX_ID:
                    raise Conflict("the registry is full (ids are limited to 9 digits)")
        except sqlite3.IntegrityError as error:
            raise Conflict(_conflict_message(kind, body, error)) from error
        return self._decoded(self.get(row_id, (kind,)))

    def update(
        self, row_id: int, kinds: Sequence[str], changes: dict[str, Any], parent_id: int | None = None
    ) -> dict[str, Any] | None:
        """Apply changes to a resource (and optionally attach it to a parent); None when not found."""
        try:
            with self._transaction() as db:
                row = self._select_one(db, row_id, kinds)
                if row is None:
                    return None
                body = {**json.loads(row["body"]), **changes}
                db.execute(
                    "UPDATE resources SET external_id = ?, parent_id = IFNULL(?, parent_id), update_ms = ?,"
                    " body = ? WHERE id = ?",
                    (body.get("externalId"), parent_id, _now_ms(), json.dumps(body), row_id),
                )
        except sqlite3.IntegrityError as error:
            raise Conflict(_conflict_message(kinds[0], changes, error)) from error
        return self.get(row_id, kinds)

    def get(self, row_id: int, kinds: Sequence[str]) -> dict[str, Any] | None:
        """One resource by id, restricted to `kinds`; None when not found."""
        with self._lock:
            row = self._select_one(self._db, row_id, kinds)
        return None if row is None else self._row_to_dict(row)

    def find(
        self,
        kinds: Sequence[str],
        name: str | None = None,
        external_id: str | None = None,
        parent_id: int | None = None,
    ) -> dict[str, Any] | None:
        """The first resource (lowest id) matching every given search parameter."""
        page = self.list_page(ListQuery(kinds, parent_id, name, external_id, page_size=1))
        return page.rows[0] if page.rows else None

    def list_page(self, query: ListQuery) -> Page:
        """A page of resources in the requested order, keyset-paged on (order column, id)."""
        column = ORDER_COLUMNS[query.order_by]
        where, params = self._filters(query)
        direction, compare = ("DESC", "<") if query.descending else ("ASC", ">")
        if query.page_token:
            where.append(f"({column}, id) {compare} (?, ?)")
            params.extend(_decode_token(query.page_token))
        sql = (
            f"SELECT * FROM resources WHERE {' AND '.join(where)} ORDER BY {column} {direction}, id {direction} LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(sql, [*params, query.page_size + 1]).fetchall()
        token = ""
        if len(rows) > query.page_size:
            rows = rows[: query.page_size]
            token = _encode_token(rows[-1][column], rows[-1]["id"])
        return Page([self._row_to_dict(row) for row in rows], token)

    @staticmethod
    def _filters(query: ListQuery) -> tuple[list[str], list[Any]]:
        where = [f"kind IN ({', '.join('?' * len(query.kinds))})"]
        params: list[Any] = list(query.kinds)
        for column, value in (
            ("parent_id", query.parent_id),
            ("name", query.name),
            ("external_id", query.external_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        return where, params

    @staticmethod
    def _select_one(db: sqlite3.Connection, row_id: int, kinds: Sequence[str]) -> sqlite3.Row | None:
        marks = ", ".join("?" * len(kinds))
        row: sqlite3.Row | None = db.execute(
            f"SELECT * FROM resources WHERE id = ? AND kind IN ({marks})", (row_id, *kinds)
        ).fetchone()
        return row

    @staticmethod
    def _row_to_dict(row: sqlite3.Row) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(row["body"])
        body.update(
            id=str(row["id"]),
            createTimeSinceEpoch=str(row["create_ms"]),
            lastUpdateTimeSinceEpoch=str(row["update_ms"]),
        )
        body["_kind"] = row["kind"]
        body["_parent"] = None if row["parent_id"] is None else str(row["parent_id"])
        return body

    @staticmethod
    def _decoded(row: dict[str, Any] | None) -> dict[str, Any]:
        if row is None:
            raise RuntimeError("a row just written could not be read back")
        return row


def _conflict_message(kind: str, body: dict[str, Any], error: sqlite3.IntegrityError) -> str:
    text = str(error)
    if "external_id" in text:
        return f"a resource with externalId {body.get('externalId')!r} already exists"
    if "name" in text:
        return f"a {kind} named {body.get('name')!r} already exists in this scope"
    return f"conflict: {text}"
