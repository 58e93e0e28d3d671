"""`jukebox serve` (a local KServe v2 endpoint behaving like OVMS) and `jukebox predict` (ask one)."""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
from pathlib import Path
from typing import Any

from release.connections import add_s3_options
from serving.contract import DEFAULT_HOST, DEFAULT_PORT
from serving.contract import DEFAULT_MODEL_NAME as DEFAULT_MODEL

PINNED_S3_HELP = (
    "As for `jukebox release`: the options, else AWS_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
    "AWS_S3_BUCKET, AWS_DEFAULT_REGION; with nothing configured the local services (`jukebox local up`). "
    "The files are cached in <repo>/.jukebox/cache/models/<sha256>/."
)


def register(subparsers: Any) -> None:
    _register_serve(subparsers)
    _register_predict(subparsers)


def _register_serve(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve a trained model locally over the KServe v2 REST API, answering like OVMS",
        description="Serve <DIR>/<n>/model.onnx (newest n), or what --env of --spec pins (fetched from S3, "
        "sha256-verified against the pin), with OpenVINO (f32) at /v2/models/NAME/infer.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", metavar="DIR", help="model directory: DIR/1/model.onnx")
    source.add_argument("--spec", type=Path, metavar="FILE", help="model spec: serve the version --env pins")
    parser.add_argument("--env", metavar="E", help="with --spec: the environment whose pin is served")
    parser.add_argument(
        "--name", default=None, help=f"model name in the URLs (default: the spec's model.name, else {DEFAULT_MODEL})"
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)")
    add_s3_options(parser.add_argument_group("S3 (with --spec)", PINNED_S3_HELP))
    parser.set_defaults(func=serve)


def _register_predict(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="ask a v2 endpoint (OVMS or `jukebox serve`) which countries like a song",
        description="Send song features to URL/v2/models/MODEL/infer and show the likely countries.",
    )
    parser.add_argument("--url", required=True, help="endpoint base URL, e.g. http://127.0.0.1:8888")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--token", help="bearer token (InferenceService with token auth on)")
    auth.add_argument("--token-file", metavar="F", help="file holding the bearer token (a ServiceAccount token)")
    parser.add_argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--song", metavar="NAME", help="a song name looked up in the song table")
    source.add_argument("--features", nargs="+", metavar="K=V", help="all 13 features as name=value")
    source.add_argument("--parquet", metavar="FILE", help="a parquet file with the 13 feature columns (batch)")
    parser.add_argument(
        "--songs",
        default=None,
        metavar="PATH|URL",
        help="song table (default: $JUKEBOX_SONGS, else the lab's upstream table)",
    )
    parser.add_argument("--artist", help="with --song: keep the songs whose artists contain this")
    parser.add_argument("--labels", metavar="PATH", help="labels.json, model.onnx or model dir (default: server)")
    parser.add_argument("--top", type=int, default=5, metavar="K", help="countries to list (default 5)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--plot", metavar="FILE.png", help="write a bar chart over the countries")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default 30)")
    parser.set_defaults(func=predict)


def _check_host(host: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address.is_loopback:
        print(f"warning: --host {host} exposes the server beyond this machine", file=sys.stderr)


def serve(args: argparse.Namespace) -> int:
    from jukebox.errors import InputError
    from serving.engine import Engine
    from serving.server import bind, create_app, run

    if args.name is not None and (not args.name or "/" in args.name):
        raise InputError(f"--name {args.name!r}: must be a non-empty name without '/'")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: must be 0..65535")
    if args.spec is None:
        used = [o for o in ("env", "s3_endpoint", "s3_bucket", "s3_region") if getattr(args, o) is not None]
        if used:
            raise InputError(f"--{used[0].replace('_', '-')} goes with --spec FILE, not --model DIR")
        model_dir, name = Path(args.model), args.name or DEFAULT_MODEL
    else:
        model_dir, name = _fetch_pinned(args)
    engine = Engine.from_dir(model_dir)
    _log_to_stderr()
    sock = bind(args.host, args.port)
    _check_host(args.host)
    host, port = sock.getsockname()[:2]
    base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    print(f"serving {name} version {engine.version} ({engine.onnx_path}) with OpenVINO f32")
    _describe(engine)
    print(f"  POST {base}/v2/models/{name}/infer   (Ctrl-C to stop)", flush=True)
    try:
        run(create_app(engine, name), sock)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


def _log_to_stderr() -> None:
    """Out-of-range input warnings (logger `jukebox.serve`) go to stderr as `warning: ...` lines."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    logger = logging.getLogger("jukebox.serve")
    logger.addHandler(handler)
    logger.propagate = False


def _describe(engine: Any) -> None:
    from serving.contract import WARNING_HEADER
    from serving.report import meaning

    print(f"  output: {meaning(engine.semantics)}", file=sys.stderr)
    if engine.ranges is None:
        print("  note: the model records no feature ranges; inputs are not checked against them", file=sys.stderr)
    else:
        print(
            f"  inputs far outside the training ranges get a warning here and a {WARNING_HEADER} response header",
            file=sys.stderr,
        )


def _fetch_pinned(args: argparse.Namespace) -> tuple[Path, str]:
    """`--spec FILE --env E`: the pinned version, downloaded (or cached) and sha256-verified."""
    from jukebox.errors import InputError
    from release.connections import Connection
    from serving.pinned import fetch_pinned

    if not args.env:
        raise InputError("--spec FILE needs --env E: the environment whose pinned version to serve")
    connection = Connection(s3_endpoint=args.s3_endpoint, s3_bucket=args.s3_bucket, s3_region=args.s3_region)
    pinned = fetch_pinned(args.spec, args.env, connection, out=lambda line: print(line, file=sys.stderr))
    print(f"{args.env} pins {pinned.pin.model} {pinned.pin.version} ({pinned.pin_file})", file=sys.stderr)
    return pinned.model_dir, args.name or pinned.name


def _rows(args: argparse.Namespace) -> Any:
    from serving import songs

    if args.features:
        return songs.parse_features(args.features), "--features"
    if args.parquet:
        return songs.read_table(args.parquet, "--parquet"), "--parquet"
    table = songs.read_table(args.songs or songs.default_songs(), "--songs")
    return songs.find_song(table, args.song, args.artist), "--songs"


def _notes(args: argparse.Namespace, client: Any) -> Any:
    """Labels, output semantics and feature ranges: from --labels, else the local server's extension route."""
    from serving import contract

    if args.labels:
        local = contract.notes_from_path(Path(args.labels), "--labels")
        if local.ranges is not None:
            return local
        # A bare labels.json names the countries; the ranges may still come from `jukebox serve`.
        return contract.ModelNotes(local.labels, _remote_notes(client).ranges, local.semantics)
    return _remote_notes(client)


def _remote_notes(client: Any) -> Any:
    from serving import contract

    remote = client.model_notes() or {}
    labels = remote.get("labels") if isinstance(remote.get("labels"), list) else None
    semantics = remote.get("output_semantics") if remote.get("output_semantics") in contract.SEMANTICS else None
    ranges = remote.get("feature_ranges") if isinstance(remote.get("feature_ranges"), dict) else None
    return contract.ModelNotes(labels, ranges, semantics)


def _labels(args: argparse.Namespace, labels: list[str] | None, n_classes: int) -> list[str]:
    from jukebox.errors import CheckFailed, InputError

    if labels is None and args.labels:
        raise InputError(f"--labels {args.labels}: no labels.json and no 'labels' ONNX metadata there")
    if labels is None:
        print("note: the server does not publish labels; pass --labels to name the countries", file=sys.stderr)
        return [f"class_{i}" for i in range(n_classes)]
    if len(labels) != n_classes:
        raise CheckFailed(f"{len(labels)} labels but the model answers {n_classes} values per row")
    return labels


def _warnings(
    columns: dict[str, Any], ranges: Any, server: list[str], rows: int, labels_option: str | None = None
) -> list[list[str]]:
    """Per row: the inputs far outside the training range (checked here when the ranges are known;
    otherwise the server's warnings, which `jukebox serve` sends, go to every row). When neither side
    checked (OVMS publishes no ranges and sends no warnings), one note says so and how to check them."""
    from training.ranges import out_of_range, summary

    for warning in server:
        print(f"warning from the server: {warning}", file=sys.stderr)
    if not ranges and not server:
        where = f"--labels {labels_option} holds none and" if labels_option else ""
        where = f"{where} the server publishes none".strip()
        print(
            f"note: input ranges were not checked (no training ranges: {where}); "
            "pass --labels MODEL_DIR (the trained model directory) to check them",
            file=sys.stderr,
        )
    flags = out_of_range(columns, ranges) if ranges else [list(server) for _ in range(rows)]
    text = summary(flags) if ranges else None
    if text:
        print(f"warning: {text}", file=sys.stderr)
    return flags


_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


def _check_endpoint(args: argparse.Namespace) -> None:
    """--url, --model and --timeout as a request can use them (exit 2 naming the option otherwise)."""
    from jukebox.errors import InputError
    from jukebox.inputs import check_http_url

    check_http_url(args.url, "--url", "http://127.0.0.1:8888")
    if not _MODEL_NAME.fullmatch(args.model):
        raise InputError(f"--model {args.model!r}: must be a model name (letters, digits, '.', '_', '-')")
    if not 0 < args.timeout < float("inf"):
        raise InputError(f"--timeout {args.timeout}: must be a positive number of seconds")


def predict(args: argparse.Namespace) -> int:
    from jukebox.errors import InputError
    from serving import report, songs
    from serving.client import V2Client, check_inputs, read_token

    if args.top < 1:
        raise InputError(f"--top {args.top}: must be at least 1")
    _check_endpoint(args)
    token = read_token(args.token, args.token_file)
    table, option = _rows(args)
    columns = songs.feature_columns(table, option)
    client = V2Client(args.url, args.model, token, verify=not args.insecure, timeout=args.timeout)
    if args.insecure:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    check_inputs(client.metadata(), args.url)
    answer = client.infer(columns)
    notes = _notes(args, client)
    labels = _labels(args, notes.labels, answer.scores.shape[1])
    flags = _warnings(columns, notes.ranges, answer.warnings, len(answer.scores), args.labels)
    titles = songs.row_titles(table)
    predictions = [report.Prediction(t, p, w) for t, p, w in zip(titles, answer.scores, flags, strict=True)]
    if args.json:
        document = report.as_json(predictions, labels, args.top, notes.semantics)
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(report.table(predictions, labels, args.top, notes.semantics))
    if args.plot:
        drawn = report.plot(predictions, labels, Path(args.plot), notes.semantics)
        print(f"wrote {args.plot} ({drawn} of {len(predictions)} row(s))", file=sys.stderr)
    return 0
