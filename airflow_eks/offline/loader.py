"""Stack configuration exactly as the Pulumi CLI hands it to the program.

The CLI applies the project's `config:` defaults from Pulumi.yaml, then the stack file's
values, namespaces bare keys with the project name, and passes every value as a string
(objects and arrays as JSON). A stack file's scalar goes as written: the CLI decodes it into a
string first (sdk/go/common/resource/config/value.go, unmarshalValue), and its YAML decoder
then keeps the source text, so an unquoted `1.30` arrives as "1.30", not as the number 1.3.
`secure:` values are ciphertext tied to one backend, so the loader substitutes a dummy and
marks the key secret, as the engine would after decrypting; so it does for the secrets a stack
needs but never commits (STAND_IN_SECRETS).
Unlike the CLI it refuses a stack-file key Pulumi.yaml does not declare, as the program
does (airflow_eks/config_keys.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from airflow_eks import config_keys

ROOT = Path(__file__).resolve().parents[2]
DUMMY_SECRET = "dummy-secret-value"
# Secrets a stack needs once another key is set (non-empty, or true), and which are never in a
# stack file (they are set per stack with `pulumi config set --secret`): offline, a stand-in
# marked secret, as for `secure:` values. secret key -> (the key that makes it required, the
# stand-in, shaped as the program validates it).
STAND_IN_SECRETS = {
    "ssoClientSecret": ("ssoIssuerUrl", DUMMY_SECRET),
    "dockerHubCredentials": ("imageRegistry", f"standin:{DUMMY_SECRET}"),  # username:accessToken
}
# `secure:` values of a stack file whose key the program checks for a shape: the stand-in has it.
# fernetKey (a restored stack's): URL-safe base64 of 32 bytes, the text "offline stand-in, not a real key".
SECURE_STAND_INS = {"fernetKey": "b2ZmbGluZSBzdGFuZC1pbiwgbm90IGEgcmVhbCBrZXk="}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def project_file() -> dict:
    return config_keys.read_project_file(ROOT / "Pulumi.yaml")


class UnknownStackError(LookupError):
    """No Pulumi.<stack>.yaml: the message lists the stacks that exist."""


class StackFileError(ValueError):
    """A stack file the CLI would refuse too: not YAML, or a `config` that is not a map."""


def stacks() -> list[str]:
    """The stacks with a stack file next to Pulumi.yaml."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.?*.yaml"))


def scalar_texts(text: str) -> dict[str, str]:
    """Key -> the source text of each scalar under the stack file's `config`, as the CLI reads it
    (a null, `key:` with nothing after it, is the empty string there too)."""
    document = yaml.compose(text)
    if not isinstance(document, yaml.MappingNode):
        return {}
    config = next((v for k, v in document.value if isinstance(k, yaml.ScalarNode) and k.value == "config"), None)
    if not isinstance(config, yaml.MappingNode):
        return {}
    return {k.value: ("" if v.tag == "tag:yaml.org,2002:null" else v.value)
            for k, v in config.value if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode)}


def stack_file(stack: str) -> dict:
    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise UnknownStackError(f"unknown stack {stack!r}: there is no Pulumi.{stack}.yaml; "
                           f"the stacks are {', '.join(stacks()) or 'none'}")
    text = path.read_text()
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        # Where the broken construct starts (an unclosed `[`), else where parsing gave up.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise StackFileError(f"{path.name} is not valid YAML ({where}{getattr(exc, 'problem', None) or exc})") from None
    config = document.get("config") if isinstance(document, dict) else document
    if not isinstance(document, dict) or not isinstance(config or {}, dict):
        raise StackFileError(f"{path.name}: `config` must be a map of keys to values "
                             f"(e.g. `airflow-eks:natGateways: single`), not {config!r}")
    if config:
        document["config"] = {**config, **scalar_texts(text)}  # scalars as the CLI reads them
    return document


def stack_config(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
) -> tuple[str, dict[str, str], list[str]]:
    """(project, config values, secret keys) for `stack`, plus test overrides.

    `overrides` and `secrets` take bare or namespaced keys; a None override removes the key
    (as `pulumi config rm` would, leaving the Pulumi.yaml default out too).
    """
    project = project_file()
    name = project["name"]

    def full(key: str) -> str:
        return key if ":" in key else f"{name}:{key}"

    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, spec in (project.get("config") or {}).items():
        spec = spec if isinstance(spec, dict) else {"value": spec}
        if "value" in spec:
            values[full(key)] = _text(spec["value"])
        elif "default" in spec:
            values[full(key)] = _text(spec["default"])
    stack_values = stack_file(stack).get("config") or {}
    config_keys.check(stack_values, project)
    for key, value in stack_values.items():
        if isinstance(value, dict) and "secure" in value:
            values[full(key)] = SECURE_STAND_INS.get(key.removeprefix(f"{name}:"), DUMMY_SECRET)
            secret_keys.append(full(key))
        else:
            values[full(key)] = _text(value)
    for key, (trigger, stand_in) in STAND_IN_SECRETS.items():
        if values.get(full(trigger)) not in (None, "", "false") and full(key) not in values:
            values[full(key)] = stand_in
            secret_keys.append(full(key))
    for key, value in (overrides or {}).items():
        if value is None:
            values.pop(full(key), None)
        else:
            values[full(key)] = _text(value)
    for key, value in (secrets or {}).items():
        values[full(key)] = value
        secret_keys.append(full(key))
    return name, values, secret_keys
