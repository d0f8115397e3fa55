"""Reading a ZIP someone handed us without trusting it: bounded, listed, hashed.

An exported generator is a ZIP whose manifest lists every other member with its size and SHA-256.
`open_verified` refuses, before anything is stored: member names that could leave the target folder,
too many members, members or totals beyond the size limits, compression ratios of a ZIP bomb,
members the manifest does not list or lists but the archive lacks (a truncated file), and members
whose bytes do not match their size or hash (an altered file). Members are streamed to disk in
chunks, never decompressed whole into memory.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from synth_dagster.domain.names import control_characters
from synth_dagster.sdk.errors import InvalidFileError

MIB = 1 << 20
# Limits of an import; the errors name them, so a user with a larger generator knows what to raise.
MAX_ARCHIVE_BYTES = 2048 * MIB  # the ZIP file itself
MAX_MEMBER_BYTES = 1024 * MIB  # one unpacked member (model weights are the largest)
MAX_UNPACKED_BYTES = 4096 * MIB  # all members together
MAX_MEMBERS = 10_000
MAX_RATIO = 200  # unpacked / packed size of a member above RATIO_FLOOR bytes
RATIO_FLOOR = MIB
MAX_JSON_BYTES = 64 * MIB  # manifest and statistics, which are parsed in memory
CHUNK = MIB


def _limit(name: str) -> str:
    return f"synth_dagster.sdk.archive.{name}"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_member_name(name: str) -> bool:
    parts = name.split("/")
    return not (
        name.startswith("/")
        or "\\" in name
        or ":" in parts[0]
        or any(p in ("", ".", "..") for p in parts)
        or control_characters(name)
    )


def checked_members(archive: zipfile.ZipFile, what: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's files by name, after the checks that need no decompression."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise InvalidFileError(
            f"{what} holds {len(infos):,} files, more than the limit of {MAX_MEMBERS:,} "
            f"({_limit('MAX_MEMBERS')}); it is not a synth_dagster export"
        )
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        if not safe_member_name(info.filename):
            raise InvalidFileError(
                f"{what} contains an unsafe path {info.filename[:100]!r}; refusing to import it"
            )
        if info.filename in members:
            raise InvalidFileError(f"{what} holds {info.filename!r} twice; refusing to import it")
        if info.file_size > MAX_MEMBER_BYTES:
            raise InvalidFileError(
                f"{what}: member {info.filename!r} declares {info.file_size / MIB:,.0f} MiB unpacked, "
                f"more than the limit of {MAX_MEMBER_BYTES / MIB:,.0f} MiB ({_limit('MAX_MEMBER_BYTES')})"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise InvalidFileError(
                f"{what}: member {info.filename!r} unpacks {ratio:,.0f} times larger than it is packed, "
                f"more than the limit of {MAX_RATIO} ({_limit('MAX_RATIO')}); it looks like a ZIP bomb"
            )
        total += info.file_size
        members[info.filename] = info
    if total > MAX_UNPACKED_BYTES:
        raise InvalidFileError(
            f"{what} declares {total / MIB:,.0f} MiB unpacked, more than the limit of "
            f"{MAX_UNPACKED_BYTES / MIB:,.0f} MiB ({_limit('MAX_UNPACKED_BYTES')})"
        )
    return members


def _stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo, sink: IO[bytes], what: str) -> str:
    """Copy one member to `sink`, never more than its declared size; its SHA-256."""
    digest, written = hashlib.sha256(), 0
    try:
        with archive.open(info) as source:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise InvalidFileError(f"{what}: member {info.filename!r} is longer than it declares")
                digest.update(chunk)
                sink.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, InvalidFileError):
            raise
        raise InvalidFileError(
            f"{what}: member {info.filename!r} cannot be read ({exc}); the file is truncated or damaged, "
            "export the generator again"
        ) from None
    return digest.hexdigest()


def read_small(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> bytes:
    """A member small enough to parse in memory (JSON)."""
    if info.file_size > MAX_JSON_BYTES:
        raise InvalidFileError(
            f"{what}: {info.filename!r} declares {info.file_size / MIB:,.0f} MiB, more than the limit "
            f"of {MAX_JSON_BYTES / MIB:,.0f} MiB for JSON members ({_limit('MAX_JSON_BYTES')})"
        )
    sink = io.BytesIO()
    _stream(archive, info, sink, what)
    return sink.getvalue()


def check_listing(
    members: Mapping[str, zipfile.ZipInfo], listed: Mapping[str, tuple[int, str]], manifest: str, what: str
) -> None:
    """Every member is listed in the manifest with its size, and every listed member is there."""
    extra = sorted(set(members) - set(listed) - {manifest})
    if extra:
        raise InvalidFileError(
            f"{what} holds files its manifest does not list ({extra[:5]}); it was altered after export"
        )
    missing = sorted(set(listed) - set(members))
    if missing:
        raise InvalidFileError(
            f"{what} lacks files its manifest lists ({missing[:5]}); the file is truncated, export it again"
        )
    for name, (size, _) in listed.items():
        if members[name].file_size != size:
            raise InvalidFileError(
                f"{what}: {name!r} holds {members[name].file_size:,} bytes, its manifest says {size:,}; "
                "the file was altered or truncated, export it again"
            )


def extract_verified(
    archive: zipfile.ZipFile,
    members: Mapping[str, zipfile.ZipInfo],
    listed: Mapping[str, tuple[int, str]],
    root: Path,
    what: str,
) -> None:
    """Stream every listed member below `root`, checking its SHA-256 against the manifest."""
    for name, (_, expected) in listed.items():
        target = root.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as sink:
            actual = _stream(archive, members[name], sink, what)
        if actual != expected:
            raise InvalidFileError(
                f"{what}: {name!r} does not match the hash in its manifest; the file was altered after "
                "export, refusing to import it"
            )


def bounded_copy(source: IO[bytes], target: Path, what: str) -> None:
    """Copy a stream to a local file, refusing more than MAX_ARCHIVE_BYTES."""
    written = 0
    with open(target, "wb") as sink:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > MAX_ARCHIVE_BYTES:
                raise InvalidFileError(
                    f"{what} is larger than the limit of {MAX_ARCHIVE_BYTES / MIB:,.0f} MiB "
                    f"({_limit('MAX_ARCHIVE_BYTES')})"
                )
            sink.write(chunk)
