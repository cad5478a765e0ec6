"""Read GDELT event files — ``.CSV``, ``.CSV.zip`` and folders of them — row by row.

Tab-separated, no header, no quoting: a plain split is exact and the fastest reader
measured here (``python -m bench gdelt``); the layout is told per file by its first
row's column count, and each later row is checked against it (replay/ingest.py).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from replay.gdelt.columns import LAYOUTS, Layout

__all__ = ["FileRefused", "gdelt_files", "layout_of", "numbered_lines"]


class FileRefused(ValueError):
    """A whole file the import cannot read (a truncated zip, an unknown layout)."""


def gdelt_files(paths: list[Path]) -> list[Path]:
    """The event files named or found in the folders named, in name (= time) order."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(p for p in path.rglob("*") if p.name.upper().endswith((".CSV", ".CSV.ZIP")))
            )
        elif path.exists():
            out.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return out


def _content(path: Path) -> bytes:
    if not path.name.upper().endswith(".ZIP"):
        return path.read_bytes()
    try:
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise FileRefused(f"{path}: expected one file in the zip, found {len(names)}")
        with archive.open(names[0]) as member:
            return member.read()  # whole: line-by-line reads of a zip are slow
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, zlib.error) as exc:
        raise FileRefused(f"{path}: not a readable zip ({exc})") from None


def numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Every non-empty line of ``path`` with its number; raises :class:`FileRefused` for
    a file that cannot be read at all."""
    for number, line in enumerate(_content(path).split(b"\n"), start=1):
        raw = line.rstrip(b"\r")
        if raw:
            yield number, raw


def layout_of(path: Path, number: int, raw: bytes) -> Layout:
    """The layout a file's first row tells; :class:`FileRefused` if it is none."""
    columns = raw.count(b"\t") + 1
    layout = LAYOUTS.get(columns)
    if layout is None:
        raise FileRefused(
            f"{path}:{number}: {columns} columns: not a GDELT event file "
            f"(57 or 58 for GDELT 1.0, 61 for 2.0)"
        )
    return layout
