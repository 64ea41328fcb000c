"""Print what a fresh unconstrained install would take instead of constraints.txt, so a new release
that the pins hold back is seen before it breaks somebody's `pip install`. Prints only; exit 0."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[canonicalize_name(name)] = version.strip()
    return pins


def newest() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed"]
        subprocess.run([*command, "--report", str(report), f"{ROOT}[test,lint]"], check=True)
        installs = json.loads(report.read_text())["install"]
    return {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}


def main() -> int:
    pins, fresh = pinned(), newest()
    fresh.pop("guestpass", None)
    drift = [
        f"  {name}: pinned {pins.get(name, '-')}, newest allowed {fresh.get(name, '-')}"
        for name in sorted(pins.keys() | fresh.keys())
        if pins.get(name) != fresh.get(name)
    ]
    if drift:
        print("drift: an unconstrained install today would differ from constraints.txt:")
        print("\n".join(drift))
    else:
        print("drift: none, constraints.txt matches an unconstrained install today")
    return 0


if __name__ == "__main__":
    sys.exit(main())
