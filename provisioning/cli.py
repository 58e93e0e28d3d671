"""`scripts/provision --target openshift|kind --spec FILE [--dry-run]`: platform, Secrets, Argo CD bootstrap."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from jukebox.errors import InputError
from provisioning.runner import CommandRunner, SystemRunner, find_binary
from provisioning.steps import Context, Step, kustomize_build
from provisioning.targets import Options, plan

TOOLS = {"openshift": ("oc",), "kind": ("kubectl", "docker")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="provision",
        description="Install the platform layer, create the credential Secrets, register the git repository "
        "with Argo CD, apply the root kustomization.yaml and wait until the Applications are Synced/Healthy. "
        "Idempotent: a second run changes nothing.",
    )
    parser.add_argument("--target", choices=["openshift", "kind"], required=True)
    parser.add_argument("--spec", type=Path, required=True, help="model spec file (specs/<model>.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="print every object and command; no cluster needed")
    parser.add_argument("--context", help="kubeconfig context (kind default: kind-<cluster-name>)")
    parser.add_argument("--expect-server", help="OpenShift: refuse unless `oc whoami --show-server` is this URL")
    parser.add_argument("--create-cluster", action="store_true", help="kind: `kind create cluster` first if absent")
    parser.add_argument("--cluster-name", default="jukebox", help="kind cluster name (default: jukebox)")
    parser.add_argument("--secrets-file", type=Path, help="YAML {secret name: {key: value}} (+ `git`: credentials)")
    parser.add_argument("--git-insecure", action="store_true", help="Argo CD: skip TLS verification of the repo")
    parser.add_argument("--timeout", type=positive_seconds, default=900, help="seconds per wait (default: 900)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive number of seconds")
    return value


def check_target(target: str, spec_path: Path) -> None:
    """The spec's platform profile must run on the target (exit 2 naming the field otherwise)."""
    from generator.loader import load_spec
    from generator.profiles import PROFILES

    spec = load_spec(spec_path)
    if spec.profile.target == target:
        return
    fitting = sorted(name for name, profile in PROFILES.items() if profile.target == target)
    raise InputError(
        f"{spec_path}: platform.profile is {spec.platform.profile}, which runs on {spec.profile.target}; "
        f"--target {target} needs platform.profile: {' or '.join(fitting)}"
    )


def rendered_repo_of(spec_path: Path) -> Path:
    """The spec's repository, which must be rendered (the root kustomization.yaml is what gets applied)."""
    from generator.repo import repo_of_spec

    root = repo_of_spec(spec_path)
    if not (root / "kustomization.yaml").is_file():
        raise InputError(f"{root}: no root kustomization.yaml next to specs/ (run `jukebox render` first)")
    return root


def load_options(args: argparse.Namespace, runner: CommandRunner, kubectl: str) -> Options:
    from generator.loader import load_spec
    from generator.repo import discover_specs

    spec = load_spec(args.spec)
    others = [load_spec(path) for path in discover_specs(args.spec.resolve().parent)]
    all_specs = [s for s in others if s.model.name != spec.model.name] + [spec]
    from provisioning.secrets import load_supplied

    root = rendered_repo_of(args.spec)
    return Options(
        spec=spec,
        all_specs=all_specs,
        repo_root=root,
        kustomize=kustomize_build(kubectl, lambda argv: runner.run(argv)),
        supplied=load_supplied(args.secrets_file),
        context=args.context,
        expect_server=args.expect_server,
        create_cluster=args.create_cluster,
        cluster_name=args.cluster_name,
        git_insecure=args.git_insecure,
        preview=args.dry_run,
    )


def print_plan(target: str, args: argparse.Namespace, steps: list[Step]) -> None:
    tool = "oc" if target == "openshift" else "kubectl"
    print(f"# provision plan: --target {target} --spec {args.spec} (dry run: nothing is applied, no cluster used)")
    print("# Secret values are redacted; real runs take them from --secrets-file, the cluster, or generate them.")
    for number, step in enumerate(steps, 1):
        print(f"\n## {number}. {step.title}")
        for line in step.describe(tool):
            print(line)


def run(args: argparse.Namespace) -> int:
    from generator.validate import kubectl_binary

    check_target(args.target, args.spec)
    if args.dry_run:
        from provisioning.runner import SystemRunner as LocalRunner

        kubectl = kubectl_binary()  # `kubectl kustomize` only: offline
        local = LocalRunner({"kubectl": kubectl})
        steps = plan(args.target, load_options(args, local, kubectl))
        print_plan(args.target, args, steps)
        return 0
    binaries = {name: find_binary(name) for name in TOOLS[args.target]}
    if args.target == "kind":
        binaries["kind"] = find_binary("kind") if args.create_cluster else binaries.get("kind", "kind")
    kubectl = binaries.get("kubectl") or kubectl_binary()
    runner = SystemRunner(binaries)
    opts = load_options(args, runner, kubectl)
    from provisioning.cluster import Cluster

    tool = "oc" if args.target == "openshift" else "kubectl"
    context = args.context or (f"kind-{args.cluster_name}" if args.target == "kind" else None)
    cluster = Cluster(runner, tool, context)
    ctx = Context(cluster, timeout=args.timeout)
    steps = plan(args.target, opts)
    for number, step in enumerate(steps, 1):
        print(f"[{number}/{len(steps)}] {step.title}", flush=True)
        step.execute(ctx)
    print(f"provisioned: {args.target}, {opts.spec.model.name}: Applications Synced/Healthy")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from jukebox.cli import run_command

    args = build_parser().parse_args(argv)
    return run_command(lambda: run(args), args.debug, prefix="provision: error")


if __name__ == "__main__":
    sys.exit(main())
