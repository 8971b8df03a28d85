"""The bundled real sample: compact Parquet cuts of recorded prices and news, and their provenance.

`build.py` cuts the files from ../shared/data (anyone with those files can re-run it);
`pipelines.demo` loads them into a database through the ordinary import commands. This module
only says where the files are and what the manifest lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import DataError

SAMPLE_DIR = Path(__file__).resolve().parent
DATA_DIR = SAMPLE_DIR / "sample-data"  # not an importable name: setuptools ships it as data
MANIFEST = SAMPLE_DIR / "manifest.json"
PROVENANCE = SAMPLE_DIR / "PROVENANCE.md"

# What the dashboard banner and `meta.dataset` say about a database built from the sample.
DATASET = "sample"
BANNER = "bundled sample: recorded real prices and news, not live"


@dataclass(frozen=True)
class SampleFile:
    """One file of the sample and how it is imported (kind: bars, events, articles, strip)."""

    path: Path
    kind: str
    instrument: str | None
    timeframe: str | None
    source: str
    origin: str  # the ../shared path it was cut from
    licence: str
    rows: int
    sha256: str


def manifest() -> dict:
    """The manifest written by build.py: files, instruments, checksum."""
    if not MANIFEST.is_file():
        raise DataError(
            f"the bundled sample is missing ({MANIFEST}); rebuild it with "
            "`python -m pipelines.sample.build` (needs ../shared/data)"
        )
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def files() -> list[SampleFile]:
    """The sample's files in import order (bars first: the strip is dated from them)."""
    return [
        SampleFile(
            path=DATA_DIR / f["file"],
            kind=f["kind"],
            instrument=f.get("instrument"),
            timeframe=f.get("timeframe"),
            source=f["source"],
            origin=f["origin"],
            licence=f["licence"],
            rows=f["rows"],
            sha256=f["sha256"],
        )
        for f in manifest()["files"]
    ]


def sources_line() -> str:
    """The sources named in one line, for the dashboard banner."""
    return manifest()["sources_line"]


def provenance_text() -> str:
    """PROVENANCE.md as text (empty when missing)."""
    return PROVENANCE.read_text(encoding="utf-8") if PROVENANCE.is_file() else ""
