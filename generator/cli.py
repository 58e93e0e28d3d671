"""`jukebox render` and `jukebox validate`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.profiles import profile_names


def register(subparsers: argparse._SubParsersAction) -> None:
    render = subparsers.add_parser(
        "render",
        help="render specs/ into manifests/ (or one spec into any directory)",
        description="Render every spec in specs/ into manifests/ and the root kustomization.yaml. "
        "Output is deterministic; the old tree is replaced atomically.",
    )
    render.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    render.add_argument("--check", action="store_true", help="write nothing; exit 1 if manifests/ is stale")
    render.add_argument("--spec", type=Path, help="render only this spec (needs --out)")
    render.add_argument("--out", type=Path, help="directory to render --spec into")
    render.add_argument("--no-cache", action="store_true", help="render every spec from scratch")
    render.set_defaults(func=run_render)

    validate = subparsers.add_parser(
        "validate",
        help="validate every generated object against its schema and build every Kustomize directory",
        description="Core kinds: kubernetes-validate (strict). Custom resources: JSON schema from the CRDs "
        "in --crds. Every Kustomize directory: `kubectl kustomize`.",
    )
    validate.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    validate.add_argument("--manifests", type=Path, help="manifests directory (default: ROOT/manifests)")
    validate.add_argument(
        "--profile",
        choices=profile_names(),
        help="platform profile whose CRDs to check against (default: platform.profile of the specs in ROOT/specs)",
    )
    validate.add_argument(
        "--crds",
        type=Path,
        help="directory of the profile's CRD files (default: ../shared/crds/profiles/PROFILE, else the cache "
        "`jukebox crds fetch` fills)",
    )
    validate.add_argument(
        "--require-crds",
        action="store_true",
        help="exit 2 when the profile's CRDs are nowhere to be found (default: custom resources go unchecked, "
        "and the summary counts them)",
    )
    validate.add_argument("--kubernetes-version", default="1.33", help="Kubernetes schema version (default: 1.33)")
    validate.set_defaults(func=run_validate)

    crds = subparsers.add_parser(
        "crds",
        help="download a platform profile's CRDs (sha256-checked) for `jukebox validate`",
        description="Each profile's CustomResourceDefinitions come byte for byte from pinned upstream commits "
        "(generator/crd_sources.yaml). `fetch` downloads them into the user cache, checking every sha256 first; "
        "`list` shows where validate would read them from.",
    )
    crds.add_argument("action", choices=["fetch", "list"])
    crds.add_argument("--profile", choices=profile_names(), help="one profile (default: all of them)")
    crds.add_argument(
        "--base-url",
        help="a mirror of https://raw.githubusercontent.com (default: $JUKEBOX_CRDS_BASE_URL or GitHub)",
    )
    crds.set_defaults(func=run_crds)

    policy = subparsers.add_parser(
        "policy",
        help="security gate: checkov over every deployable Kustomize build and a secret scan of the repository",
    )
    policy.add_argument("--root", type=Path, default=Path("."), help="repository root (default: .)")
    policy.set_defaults(func=run_policy)

    secrets = subparsers.add_parser(
        "secrets",
        help="list the credential Secrets a spec's manifests reference (created at provision time, never in git)",
    )
    secrets.add_argument("--spec", type=Path, required=True, help="model spec file")
    secrets.add_argument("--json", action="store_true", help="print JSON for machines")
    secrets.set_defaults(func=run_secrets)


def run_render(args: argparse.Namespace) -> int:
    from generator import repo
    from jukebox.errors import InputError

    if args.spec or args.out:
        if not (args.spec and args.out):
            raise InputError("--spec and --out go together: render one spec into one directory")
        if args.check:
            raise InputError("--check compares specs/ with manifests/; it does not take --spec/--out")
        changed = repo.render_one(args.spec, args.out)
        print(f"rendered {args.spec} into {args.out}: {len(changed)} file(s) changed")
        return 0
    if args.check:
        return report_drift(repo.check_repo(args.root, use_cache=not args.no_cache))
    changed = repo.render_repo(args.root, use_cache=not args.no_cache)
    for path in changed:
        print(f"  changed: {path}")
    print(f"manifests are up to date ({len(changed)} file(s) changed)")
    return 0


def report_drift(drift: object) -> int:
    from generator.repo import Drift

    assert isinstance(drift, Drift)
    if drift.clean:
        print("render --check: manifests/ matches specs/")
        return 0
    for path in drift.stale:
        print(f"stale:   {path}", file=sys.stderr)
        print(drift.diffs[path], file=sys.stderr)
    for path in drift.missing:
        print(f"missing: {path}", file=sys.stderr)
    for path in drift.extra:
        print(f"extra:   {path} (not produced by any spec)", file=sys.stderr)
    print("manifests/ is out of date: run `jukebox render` and commit the result", file=sys.stderr)
    return 1


def run_validate(args: argparse.Namespace) -> int:
    from generator.layout import MANIFESTS_DIR
    from generator.validate import validate_tree

    manifests = args.manifests or args.root / MANIFESTS_DIR
    profile = args.profile or repo_profile(args.root)
    report = validate_tree(manifests, profile, args.crds, args.kubernetes_version, args.require_crds)
    print(report.summary())
    return 0 if report.ok else 1


def repo_profile(root: Path) -> str:
    """The platform profile every spec of the repository targets."""
    from generator.platform import cluster_settings
    from generator.repo import SPECS_DIR, discover_specs, load_sourced
    from jukebox.errors import InputError

    specs_dir = root / SPECS_DIR
    if not specs_dir.is_dir():
        raise InputError(f"--profile is needed: {specs_dir} does not exist to read platform.profile from")
    specs = [sourced.spec for sourced in load_sourced(discover_specs(specs_dir), root)]
    return cluster_settings(specs).profile


def run_crds(args: argparse.Namespace) -> int:
    from generator import crds

    profiles = [args.profile] if args.profile else profile_names()
    base_url = crds.base_url(args.base_url) if args.action == "fetch" else ""
    for profile in profiles:
        if args.action == "list":
            location = crds.locate(profile)
            print(f"{profile}: {len(crds.sources(profile))} CRDs, read from {location.origin}")
            continue
        print(f"{profile}: fetching into {crds.cache_dir(profile)}")
        for line in crds.fetch(profile, base_url):
            print(f"  {line}")
    return 0


def run_secrets(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from generator.credentials import required_secrets
    from generator.loader import load_spec

    contracts = required_secrets(load_spec(args.spec))
    if args.json:
        print(json.dumps([{**asdict(c), "keys": c.keys} for c in contracts], indent=2, sort_keys=True))
        return 0
    for contract in contracts:
        print(f"Secret {contract.namespace}/{contract.name}: {contract.purpose}")
        for key, value in sorted({**contract.labels}.items()):
            print(f"  label       {key}={value}")
        for key, value in sorted(contract.annotations.items()):
            print(f"  annotation  {key}={value}")
        for key in contract.keys:
            shown = contract.public_values.get(key, "<secret: supplied at provision time>")
            print(f"  key         {key}: {shown}")
    return 0


def run_policy(args: argparse.Namespace) -> int:
    from generator.policy import policy_scan

    report = policy_scan(args.root)
    print(report.summary())
    return 0 if report.ok else 1
