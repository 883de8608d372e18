"""Typed, required reads over pulumi.Config, and the one error shape for bad values.

Every failure is a pulumi.RunError naming the key, the bad value (credentials redacted) and
what is allowed; the CLI shows it as one line without a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime.config import is_config_secret

from airflow_eks import config_keys

# int() also takes "+3", " 3" and non-ASCII digits such as "٣", and raises on more than 4,300
# digits; config integers are plain, and 18 digits are past every bound.
_INTEGER = re.compile(r"-?[0-9]{1,18}", re.ASCII)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://", re.ASCII)
# A URL's userinfo as a message may quote it, for the net in invalid(): up to the last @ before
# whitespace or a quote.
_USERINFO_IN_TEXT = re.compile(r"(?<=://)[^\s'\"]*@")
# Values longer than this are shown cut, with their length: an error message stays one line.
SHOWN_MAX_LENGTH = 200
# What YAML makes of an unquoted version such as 1.30 or 3.10: the number 1.3 or 3.1, passed on as
# its shortest text. The Pulumi CLI keeps a stack file's scalars as written (its YAML decoder
# hands the text to a string), but a number from JSON does not: an ESC environment's
# pulumiConfig, the Automation API, an object value.
_LOST_ZERO = re.compile(r"[0-9]+\.[1-9]", re.ASCII)


def redact(value: str) -> str:
    """`value` as an error message may show it: whatever could be a credential hidden.

    After a scheme's ://, everything up to the LAST @ is userinfo (a password may hold @, /, :
    or whitespace, and hiding a path's @ too costs nothing), and a query string (?access_token=)
    is cut. Without a scheme the same where the value looks like a URL without it: `user:pw@`,
    or a host with a path or port after the @ (a token pasted as `ghp_...@github.com/org/repo`).
    `git@host:org/repo` (the SSH user of GitHub, GitLab, Bitbucket, Azure DevOps) and an e-mail
    address keep what precedes their @: no secret.
    """
    scheme = _SCHEME.search(value)
    head, rest = (value[:scheme.end()], value[scheme.end():]) if scheme else ("", value)
    user, at, location = rest.rpartition("@")
    url_like = ":" in user.removeprefix("mailto:") or "/" in location or ":" in location
    if at and (scheme or (url_like and user != "git")):
        rest = "***@" + location
    if "?" in rest and (scheme or "/" in rest):
        rest = rest.split("?", 1)[0] + "?***"
    return head + rest


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(_cut(redact(value)))
    if isinstance(value, list):
        return _cut(json.dumps([redact(v) if isinstance(v, str) else v for v in value]))
    return json.dumps(value)


def _cut(text: str) -> str:
    if len(text) <= SHOWN_MAX_LENGTH:
        return text
    return f"{text[:SHOWN_MAX_LENGTH // 2]}... ({len(text)} characters)"


def invalid(key: str, value: Any, allowed: str) -> pulumi.RunError:
    """The one error shape: key, bad value, what is allowed; never a credential the value held."""
    # `allowed` may quote the value too (e.g. an ipaddress error): those copies are redacted as
    # the value is, and the message as a whole goes through a net for any other userinfo.
    for raw in (value if isinstance(value, list) else [value]):
        if isinstance(raw, str) and raw and raw != redact(raw):
            allowed = allowed.replace(raw, redact(raw))
    message = f"Invalid configuration {key} = {_show(value)}: expected {allowed}."
    return pulumi.RunError(_USERINFO_IN_TEXT.sub("***@", message))


def unquoted_number_hint(name: str, value: Any) -> str:
    """For a version-like key (Pulumi.yaml names them *Version) whose value looks like an unquoted
    number that lost its trailing zero, the advice to quote it; else ""."""
    if not (name.endswith("Version") and isinstance(value, str) and _LOST_ZERO.fullmatch(value)):
        return ""
    return f'; if you wrote {value}0 unquoted, YAML read it as the number {value}: quote it ({name}: "{value}0")'


def invalid_secret(key: str, allowed: str) -> pulumi.RunError:
    return pulumi.RunError(f"Invalid configuration {key} = [secret]: expected {allowed}.")


def parse_json(text: str) -> Any:
    """The JSON value of `text`, or None when it is none (deep nesting included: the parser
    raises RecursionError there, which is not a ValueError)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


class Reader:
    """Typed required reads over pulumi.Config; every failure names the key."""

    def __init__(self, namespace: str | None = None) -> None:
        self.cfg = pulumi.Config(namespace)
        self.namespace = self.cfg.name

    def key(self, name: str) -> str:
        return f"{self.namespace}:{name}"

    def raw(self, name: str) -> str:
        value = self.cfg.get(name)
        if value is None:
            # The CLI reads a bare key as the project's: another namespace must be spelled out.
            settable = name if self.namespace == pulumi.get_project() else self.key(name)
            if not self._has_default(settable):
                raise pulumi.RunError(f"Missing configuration {self.key(name)}: required (Pulumi.yaml declares no "
                                      f"default); set it with `pulumi config set {settable} <value>`.")
            raise pulumi.RunError(
                f"Missing configuration {self.key(name)}: Pulumi.yaml declares its default, so run the "
                f"program through the Pulumi CLI, or set it with `pulumi config set {settable} <value>`."
            )
        return value

    @staticmethod
    def _has_default(declared_as: str) -> bool:
        spec = (config_keys.read_project_file().get("config") or {}).get(declared_as)
        return isinstance(spec, dict) and ("default" in spec or "value" in spec)

    def string(self, name: str, check: Callable[[str], Any] | None = None) -> str:
        value = self.raw(name)
        self.check(name, value, check)
        return value

    def check(self, name: str, value: Any, check: Callable[[Any], Any] | None) -> Any:
        if check is None:
            return value
        try:
            return check(value)
        except ValueError as exc:
            raise invalid(self.key(name), value, str(exc) + unquoted_number_hint(name, value)) from None

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value not in allowed:
            raise invalid(self.key(name), value, "one of " + ", ".join(allowed) + unquoted_number_hint(name, value))
        return value

    def integer(self, name: str, low: int, high: int) -> int:
        text = self.raw(name)
        if not _INTEGER.fullmatch(text):
            raise invalid(self.key(name), text, f"an integer from {low} to {high}")
        value = int(text)
        if not low <= value <= high:
            raise invalid(self.key(name), value, f"an integer from {low} to {high}")
        return value

    def boolean(self, name: str) -> bool:
        text = self.raw(name)
        # What pulumi.Config.get_bool accepts, no more.
        if text not in ("true", "True", "false", "False"):
            raise invalid(self.key(name), text, "true or false")
        return text.lower() == "true"

    def strings(self, name: str, check: Callable[[str], Any] | None = None, *, min_items: int = 0,
                max_items: int | None = None) -> tuple[str, ...]:
        text = self.raw(name)
        items = parse_json(text)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise invalid(self.key(name), text, 'a list of strings, e.g. ["a", "b"]')
        if len(items) < min_items:
            raise invalid(self.key(name), items, f"at least {min_items} item(s)")
        if max_items is not None and len(items) > max_items:
            raise invalid(self.key(name), items, f"at most {max_items} items")
        if len(set(items)) != len(items):
            raise invalid(self.key(name), items, "a list without duplicates")
        for item in items:
            self.check(name, item, check)
        return tuple(items)

    def secret(self, name: str, check: Callable[[str], Any] | None = None) -> str | None:
        """Raw value of a secret key, for validation only; callers wrap it in Output.secret.

        A value set without `--secret` sits in plain text in the stack file (and in git):
        refused, never shown, so it is rotated and set again as a Pulumi secret. The Pulumi CLI
        refuses it too for keys Pulumi.yaml declares `secret: true`; this check gives the
        offline plan (and any other runner) the same answer. `check` raises ValueError with what
        is allowed, never quoting the value; the error shows it as [secret]."""
        value = self.cfg.get(name)
        if value in (None, ""):
            return None
        if not is_config_secret(self.key(name)):
            raise invalid_secret(self.key(name), f"a secret, set with `pulumi config set --secret {name} <value>`; "
                                 "this value is in plain text in the stack file: remove it with `pulumi config rm "
                                 f"{name}`, rotate it, and set the new one as a secret")
        if check is not None:
            try:
                check(value)
            except ValueError as exc:
                raise invalid_secret(self.key(name), str(exc)) from None
        return value


def all_keys() -> set[str]:
    """Every configuration key the engine handed the program, in any namespace.

    The CLI passes them in PULUMI_CONFIG, tests and the offline engine with set_all_config;
    pulumi.Config has no listing, so this reads the SDK's runtime store (the pinned SDK's
    pulumi.runtime.config).
    """
    from pulumi.runtime import config as runtime_config

    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


def one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError("each one of " + ", ".join(allowed))
        return value

    return check
