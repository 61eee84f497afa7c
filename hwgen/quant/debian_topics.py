"""The default transformer task: Debian package descriptions labelled by their Section.

Real text that is already on a Debian machine: apt's package lists name each binary
package's Section, and the Translation-en lists (fetched by `apt-get -o
Acquire::Languages=en update`, which the Makefile runs as root) hold the long
descriptions, joined on Description-md5. apt stores the lists lz4-compressed; `apt-helper
cat-file` reads them. One binary package per source package keeps near-duplicate texts
(foo, foo-data, foo-doc) from landing on both sides of the split: the binary named like
its source, else the first by name. Only the ten topical sections of `SECTIONS` are kept
(≈ 8.2 k texts on bookworm). The result is cached as JSONL next to the repository
(`.hwgen-cache/`, or $HWGEN_CACHE) so later runs read no apt lists at all.

apt rewrites the lists under a lock; `wait_for_apt` waits for it (a read lock on
/var/lib/apt/lists/lock) rather than reading half-written files.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Iterable, Iterator, Optional

from hwgen.quant.errors import DataError
from hwgen.quant.text_data import TextTable, load_table

SECTIONS = ("utils", "science", "net", "admin", "games", "x11", "sound", "misc", "text", "graphics")
LISTS = Path("/var/lib/apt/lists")
APT_HELPER = "/usr/lib/apt/apt-helper"
CACHE_NAME = "debian_topics.jsonl"
LOCK_WAIT_S = 600.0


def parse_stanzas(text: str) -> Iterator[dict[str, str]]:
    """Deb822 stanzas → dicts; continuation lines join their field with newlines (" ." is an empty line)."""
    fields: dict[str, str] = {}
    key: Optional[str] = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                body = line.strip()
                fields[key] += "\n" + ("" if body == "." else body)
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def description_text(translated: str) -> str:
    """Description-en (short line + long paragraphs) as one text: the short line, then the body joined by spaces."""
    short, _, body = translated.partition("\n")
    paragraphs = [" ".join(p.split()) for p in body.split("\n\n")]
    return " ".join([short.strip()] + [p for p in paragraphs if p])


def _section(stanza: dict[str, str]) -> str:
    return stanza.get("Section", "").rpartition("/")[2]  # "contrib/games" → "games"


def topics_from_lists(packages: Iterable[str], translations: Iterable[str]) -> list[tuple[str, str]]:
    """(text, section) pairs from Packages and Translation-en texts: one binary per source, topical sections only."""
    described: dict[str, str] = {}
    for text in translations:
        for st in parse_stanzas(text):
            if "Description-md5" in st and "Description-en" in st:
                described.setdefault(st["Description-md5"], st["Description-en"])
    by_source: dict[str, dict[str, dict[str, str]]] = {}
    for text in packages:
        for st in parse_stanzas(text):
            name = st.get("Package")
            if not name or _section(st) not in SECTIONS or st.get("Description-md5") not in described:
                continue
            source = st.get("Source", name).split()[0]
            by_source.setdefault(source, {}).setdefault(name, st)
    rows = []
    for source in sorted(by_source):
        binaries = by_source[source]
        st = binaries[source] if source in binaries else binaries[min(binaries)]
        rows.append((description_text(described[st["Description-md5"]]), _section(st)))
    return rows


def wait_for_apt(lists: Path = LISTS, timeout_s: float = LOCK_WAIT_S) -> None:
    """Block while apt holds its lists lock (apt-get update is rewriting them); DataError after `timeout_s`."""
    lock = lists / "lock"
    if not lock.exists():
        return
    deadline = time.monotonic() + timeout_s
    with open(lock, "rb") as f:
        while True:
            try:
                fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.lockf(f, fcntl.LOCK_UN)
                return
            except PermissionError:
                return  # cannot take even a read lock: nothing to wait on
            except OSError:
                if time.monotonic() > deadline:
                    raise DataError(f"apt has held {lock} for over {timeout_s:.0f} s; try again when apt is done") from None
                time.sleep(1.0)


def _cat(path: Path) -> str:
    try:
        out = subprocess.run([APT_HELPER, "cat-file", str(path)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise DataError(f"{path}: apt-helper cannot read it ({type(err).__name__})") from None
    return out.stdout.decode("utf-8", errors="replace")


def read_apt_lists(lists: Path = LISTS) -> list[tuple[str, str]]:
    wait_for_apt(lists)
    packages = sorted(lists.glob("*_Packages*"))
    translations = sorted(lists.glob("*_i18n_Translation-en*"))
    if not packages:
        raise DataError(f"{lists}: no apt package lists; run `apt-get update` (as root) or give --data FILE")
    if not translations:
        raise DataError(f"{lists}: no English long descriptions (Translation-en); run "
                        "`apt-get -o Acquire::Languages=en update` as root (`make install` does), or give --data FILE")
    return topics_from_lists((_cat(p) for p in packages), (_cat(p) for p in translations))


def cache_dir() -> Path:
    env = os.environ.get("HWGEN_CACHE")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".hwgen-cache"


def debian_topics(cache: Optional[Path] = None, lists: Path = LISTS) -> TextTable:
    """The Debian topics table, from the JSONL cache when present, else from apt's lists (then cached)."""
    path = cache or cache_dir() / CACHE_NAME
    if not path.exists():
        rows = read_apt_lists(lists)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps({"text": t, "label": s}) + "\n" for t, s in rows))
        os.replace(tmp, path)
    table = load_table(path, classes=SECTIONS)
    return TextTable(table.texts, table.labels, table.classes, f"Debian package descriptions by section ({path})")
