"""Where releases go: S3 and the Model Registry, as options, environment variables or the local services.

One resolution for every command that reads or writes the model bucket or the registry (`release`, `pin`,
`promote`, `versions`, `serve --spec`, the pipeline): the command-line options first, then the variables
an OpenShift AI connection injects (`AWS_*`) and `JUKEBOX_REGISTRY_*`, else the embedded local services,
started when they are not running.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from generator.spec import Spec
from release.registry import Registry, RegistrySettings, connect
from release.s3 import S3Settings, S3Store


@dataclass(frozen=True)
class Connection:
    """S3 and registry options; unset values come from the environment, then the local services."""

    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_region: str | None = None
    registry_url: str | None = None
    registry_token_file: str | None = None
    insecure: bool = False
    ca_file: str | None = None


NO_OPTIONS = Connection()  # nothing given on the command line: environment variables, else local services


@dataclass
class Services:
    s3: S3Store
    registry: Registry
    notes: list[str] = field(default_factory=list)


def connect_or_start_local(spec: Spec, options: Connection, env: Mapping[str, str] | None = None) -> Services:
    """S3 and the registry as configured; whatever is not configured is the local services (started now
    if they are not running)."""
    s3_settings, notes = s3_settings_or_local(spec, options, env)
    registry_settings, registry_notes = registry_settings_or_local(spec, options, env)
    registry = Registry(connect(registry_settings), registry_settings)
    return Services(S3Store(s3_settings), registry, notes + registry_notes)


def s3_settings_or_local(
    spec: Spec, options: Connection | None = None, env: Mapping[str, str] | None = None
) -> tuple[S3Settings, list[str]]:
    """S3 from options, then the AWS_* variables OpenShift AI connections inject, else the local services
    (started if they are not running)."""
    env = os.environ if env is None else env
    options = options or Connection()
    settings = S3Settings.from_env(
        env,
        endpoint=options.s3_endpoint,
        bucket=options.s3_bucket,
        region=options.s3_region,
        default_bucket=spec.storage.bucket,
        default_region=spec.storage.region,
    )
    if settings is not None:
        return settings, []
    from release.local import ensure_local_services

    local = ensure_local_services(buckets=(spec.storage.bucket,))
    settings = S3Settings(local.s3_endpoint, local.access_key, local.secret_key, spec.storage.bucket, local.region)
    return settings, [f"S3: local services at {local.s3_endpoint} (AWS_S3_ENDPOINT is not set)"]


def registry_settings_or_local(
    spec: Spec, options: Connection | None = None, env: Mapping[str, str] | None = None
) -> tuple[RegistrySettings, list[str]]:
    """The registry from options, then JUKEBOX_REGISTRY_*, else the local services (started if they are
    not running)."""
    env = os.environ if env is None else env
    options = options or Connection()
    settings = RegistrySettings.from_env(
        env,
        url=options.registry_url,
        token_file=options.registry_token_file,
        insecure=options.insecure,
        ca_file=options.ca_file,
    )
    if settings is not None:
        return settings, []
    from release.local import ensure_local_services

    local = ensure_local_services(buckets=(spec.storage.bucket,))
    author = env.get("JUKEBOX_REGISTRY_AUTHOR") or "jukebox"
    settings = RegistrySettings(local.registry_url, token=local.registry_token, author=author)
    return settings, [f"registry: local services at {local.registry_url} (JUKEBOX_REGISTRY_URL is not set)"]


CONNECTION_HELP = (
    "S3 settings come from the options, else AWS_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
    "AWS_S3_BUCKET, AWS_DEFAULT_REGION (what an OpenShift AI connection injects); the registry from the "
    "options, else JUKEBOX_REGISTRY_URL, JUKEBOX_REGISTRY_TOKEN(_FILE), JUKEBOX_REGISTRY_CA_FILE, "
    "JUKEBOX_REGISTRY_INSECURE. With nothing configured the local services (`jukebox local up`) are used."
)


def add_s3_options(group: argparse._ArgumentGroup) -> None:
    """The S3 options every command that reads or writes the model bucket takes (unset: env, then local)."""
    group.add_argument("--s3-endpoint", help="S3 endpoint URL (AWS_S3_ENDPOINT)")
    group.add_argument("--s3-bucket", help="bucket (AWS_S3_BUCKET; default: the spec's storage.bucket)")
    group.add_argument("--s3-region", help="region (AWS_DEFAULT_REGION; default: the spec's storage.region)")


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """S3 and registry options (the `connections` group of `release`, `pin`, `promote`, `versions`)."""
    group = parser.add_argument_group("connections", CONNECTION_HELP)
    add_s3_options(group)
    group.add_argument("--registry-url", help="Model Registry REST URL (JUKEBOX_REGISTRY_URL)")
    group.add_argument(
        "--registry-token-file", help="file holding the bearer token (JUKEBOX_REGISTRY_TOKEN_FILE / _TOKEN)"
    )
    group.add_argument("--ca-file", help="CA bundle for the registry's TLS certificate (JUKEBOX_REGISTRY_CA_FILE)")
    group.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify the registry's TLS certificate (JUKEBOX_REGISTRY_INSECURE)",
    )


def connection_from_args(args: argparse.Namespace) -> Connection:
    """The Connection of a parsed command line (options it does not define stay unset)."""
    return Connection(
        s3_endpoint=getattr(args, "s3_endpoint", None),
        s3_bucket=getattr(args, "s3_bucket", None),
        s3_region=getattr(args, "s3_region", None),
        registry_url=getattr(args, "registry_url", None),
        registry_token_file=getattr(args, "registry_token_file", None),
        insecure=getattr(args, "insecure", False),
        ca_file=getattr(args, "ca_file", None),
    )
