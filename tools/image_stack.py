"""What the image workflow (.github/workflows/image.yml) reads from and writes to a stack file.

    python -m tools.image_stack build-args prod            # GITHUB_OUTPUT lines: airflow_version, repository
    python -m tools.image_stack set-digest prod sha256:... # Pulumi.prod.yaml's airflowImageDigest, in place
    python -m tools.image_stack deployed-image prod        # GITHUB_OUTPUT lines: digest, repository

`build-args` gives the Airflow version the stack deploys (its stack file's airflowVersion, else
Pulumi.yaml's default), which the Dockerfile builds on, and the repository name the program
gives the stack's registry. `set-digest` changes exactly one line of the stack file (adding it
after imageRegistry when missing), keeping every comment, and exits 3 when the file already
has that digest: the workflow then opens no pull request. `deployed-image` gives the digest a
deploy of the stack runs from the stack's own repository (deploy.yml records it there,
tools/image_deploys.py), empty when the stack sets none or has no registry. Needs PyYAML only
(read, not write).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from airflow_eks.image import digest, registry

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "airflow-eks"
KEY = f"{PROJECT}:airflowImageDigest"
UNCHANGED = 3


def stack_file(stack: str, root: Path = ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def stack_value(stack: str, key: str, root: Path = ROOT) -> object:
    """`key` as the stack deploys it: its stack file's value, else Pulumi.yaml's default (None
    without one)."""
    config = (yaml.safe_load(stack_file(stack, root).read_text()) or {}).get("config") or {}
    if f"{PROJECT}:{key}" in config:
        return config[f"{PROJECT}:{key}"]
    return yaml.safe_load((root / "Pulumi.yaml").read_text())["config"][key].get("default")


def airflow_version(stack: str, root: Path = ROOT) -> str:
    return str(stack_value(stack, "airflowVersion", root))


def deployed_digest(stack: str, root: Path = ROOT) -> str:
    """The digest a deploy of `stack` runs from the stack's own repository: '' when the stack has
    no registry (imageRegistry) or sets no airflowImageDigest; ValueError for a malformed one."""
    value = str(stack_value(stack, "airflowImageDigest", root) or "")
    if stack_value(stack, "imageRegistry", root) is not True or not value:
        return ""
    return digest.check(value)


def set_digest(text: str, value: str) -> str:
    """The stack file's text with airflowImageDigest set to `value` (a validated digest)."""
    line = f"  {KEY}: {digest.check(value)}"
    pattern = re.compile(rf"^  {re.escape(KEY)}:.*$", re.MULTILINE)
    if pattern.search(text):
        return pattern.sub(line, text, count=1)
    anchor = re.compile(rf"^  {re.escape(PROJECT)}:imageRegistry:.*$", re.MULTILINE)
    match = anchor.search(text)
    if not match:
        raise ValueError(f"the stack file sets neither {KEY} nor {PROJECT}:imageRegistry")
    return text[:match.end()] + "\n" + line + text[match.end():]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.image_stack")
    sub = parser.add_subparsers(dest="command", required=True)
    args_cmd = sub.add_parser("build-args")
    args_cmd.add_argument("stack")
    set_cmd = sub.add_parser("set-digest")
    set_cmd.add_argument("stack")
    set_cmd.add_argument("digest")
    deployed_cmd = sub.add_parser("deployed-image")
    deployed_cmd.add_argument("stack")
    args = parser.parse_args(argv)
    if args.command == "build-args":
        print(f"airflow_version={airflow_version(args.stack)}")
        print(f"repository={registry.repository_name(registry.namespace(args.stack))}")
        return 0
    if args.command == "deployed-image":
        try:
            print(f"digest={deployed_digest(args.stack)}")
        except ValueError as exc:
            print(f"error: airflowImageDigest: {exc}", file=sys.stderr)
            return 1
        print(f"repository={registry.repository_name(registry.namespace(args.stack))}")
        return 0
    path = stack_file(args.stack)
    try:
        text = path.read_text()
        new = set_digest(text, args.digest)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if new == text:
        print(f"{path.name} already runs {args.digest}")
        return UNCHANGED
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
