"""Bare `make` lists every target with one line: the Makefile's entry point for a newcomer."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from airflow_eks.offline import loader

MAKEFILE = (loader.ROOT / "Makefile").read_text()


def phony_targets() -> set[str]:
    return {t for line in re.findall(r"^\.PHONY:(.*)$", MAKEFILE, flags=re.M) for t in line.split()}


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_bare_make_lists_every_target_with_its_line():
    result = subprocess.run(["make", "-s", "-C", str(loader.ROOT)], capture_output=True, text=True, timeout=60,
                            check=True)
    listed = dict(re.findall(r"^  ([a-z][a-z-]*) +(\S.*)$", result.stdout, flags=re.M))
    assert set(listed) == phony_targets()
    for target, line in listed.items():
        assert re.search(rf"^{re.escape(target)}:[^#\n]*## {re.escape(line)}$", MAKEFILE, flags=re.M), target
    # Listing installs nothing and runs nothing else.
    assert "pip" not in result.stdout
