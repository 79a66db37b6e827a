"""Result archives: what a worker agent uploads after a run, and whose sha256 it commits on chain.

The workers of a task must reach consensus on the result digest (PROTOCOL.md: the digest is the
sha256 of the result archive), so the archive is deterministic: the same files give
byte-identical archives on any machine. It is a POSIX (pax) tar, not compressed (compressors and
their settings differ between zlib builds), laid out as::

    logs/stderr.txt
    logs/stdout.txt
    output/...          everything the app wrote into /output, folders included

Entries are sorted by their UTF-8 path; every entry has mtime 0, uid and gid 0, no owner names,
mode 0755 for folders and 0644 for files. Only regular files and folders may be archived: a
symbolic link (which could point outside the output folder), a device, pipe or socket, or a name
that is not UTF-8 is refused with :class:`UnsafeOutput`.

The site takes an uploaded archive only in that shape (:func:`check_result_archive`): a plain
tar of regular files and folders under ``output`` and ``logs``, bounded in members and unpacked
size, checked by reading its headers only; a compressed or otherwise hostile archive is refused
with :class:`UnsafeArchive`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "LOGS_FOLDER",
    "OUTPUT_FOLDER",
    "ArchiveMember",
    "ResultArchive",
    "UnsafeArchive",
    "UnsafeOutput",
    "build_result_archive",
    "check_output",
    "check_result_archive",
    "output_size",
    "verify_result_archive",
]

OUTPUT_FOLDER = "output"
"""Folder of the archive holding the app's output files."""
LOGS_FOLDER = "logs"
"""Folder of the archive holding the app's ``stdout.txt`` and ``stderr.txt``."""
STDOUT_NAME = "stdout.txt"
STDERR_NAME = "stderr.txt"

_FOLDER_MODE = 0o755
_FILE_MODE = 0o644

# What compressed files start with: the agent never compresses (see the module's docstring).
_COMPRESSION_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
# Most one header of a member may hold (pax records, a GNU long name): a name of a few thousand
# bytes fits many times; tarfile reads a header whole, so a bigger one is refused before it is.
_MAX_HEADER_BYTES = 64 * 1024
_ARCHIVE_ROOTS = (OUTPUT_FOLDER, LOGS_FOLDER)
_UPLOAD_AS_WRITTEN = "upload the archive the worker agent wrote, as it is."
_ENTRY_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a device",
    tarfile.BLKTYPE: "a device",
    tarfile.FIFOTYPE: "a pipe",
    tarfile.CONTTYPE: "a contiguous file",
    tarfile.GNUTYPE_SPARSE: "a sparse file",
}


class UnsafeOutput(ValueError):
    """The output folder holds something that cannot go into a result archive.

    The message names the offending path, relative to the archive root.
    """


class UnsafeArchive(ValueError):
    """An archive is not a result archive as :func:`build_result_archive` writes it, or exceeds
    the limits it is checked against.

    The message says what is wrong (``problem``, for whoever reads the archive) and what its
    uploader should do.
    """

    def __init__(self, problem: str, remedy: str = _UPLOAD_AS_WRITTEN) -> None:
        super().__init__(f"{problem}: {remedy}")
        self.problem = problem


@dataclass(frozen=True)
class ArchiveMember:
    """A file or folder of a checked result archive."""

    name: str
    size: int
    """Bytes of a file's content; 0 for a folder."""
    is_folder: bool
    offset: int
    """Where a file's content starts in the archive: read it from there, at most ``size`` bytes."""


@dataclass(frozen=True)
class ResultArchive:
    """A result archive written by :func:`build_result_archive`."""

    path: Path
    digest: bytes
    """SHA-256 of the archive file (32 bytes): the result digest workers commit to."""
    size: int
    """Size of the archive file in bytes."""


@dataclass(frozen=True)
class _Entry:
    name: str
    """Path inside the archive."""
    source: Path | None
    """The file or folder it comes from; None for the logs folder, which exists only inside."""
    is_folder: bool


def build_result_archive(
    output_dir: Path, stdout_path: Path, stderr_path: Path, dest: Path
) -> ResultArchive:
    """Write the result archive of a finished run to ``dest`` and return its digest and size.

    Preconditions: the app has stopped (nothing writes into ``output_dir`` any more); ``dest`` is
    outside ``output_dir``. ``dest`` is overwritten; it is removed again if archiving fails.

    Raises :class:`UnsafeOutput` when ``output_dir`` (or a log) holds a symbolic link, a special
    file or a name that is not UTF-8, and ``ValueError`` when ``dest`` is inside ``output_dir``.
    """
    output_dir, dest = Path(output_dir), Path(dest)
    if dest.absolute().is_relative_to(output_dir.absolute()):
        raise ValueError(f"The archive {dest} must not be written inside the output folder.")
    entries = [
        *_output_entries(output_dir),
        _Entry(LOGS_FOLDER, None, is_folder=True),
        _Entry(f"{LOGS_FOLDER}/{STDOUT_NAME}", Path(stdout_path), is_folder=False),
        _Entry(f"{LOGS_FOLDER}/{STDERR_NAME}", Path(stderr_path), is_folder=False),
    ]
    entries.sort(key=lambda entry: entry.name.encode())

    try:
        with dest.open("wb") as file:
            writer = _HashingWriter(file)
            with tarfile.open(
                fileobj=writer,  # type: ignore[arg-type]
                mode="w|",
                format=tarfile.PAX_FORMAT,
                encoding="utf-8",
            ) as tar:
                for entry in entries:
                    _add_entry(tar, entry)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return ResultArchive(path=dest, digest=writer.digest.digest(), size=writer.size)


def verify_result_archive(path: Path, digest: bytes) -> bool:
    """Tell whether the archive at ``path`` has the sha256 ``digest`` (32 bytes).

    Raises ``OSError`` when the file cannot be read.
    """
    with Path(path).open("rb") as file:
        actual = hashlib.file_digest(file, "sha256").digest()
    return hmac.compare_digest(actual, bytes(digest))


def check_result_archive(
    file: BinaryIO, *, max_members: int, max_unpacked_bytes: int
) -> list[ArchiveMember]:
    """Check that ``file`` is a result archive as :func:`build_result_archive` writes it and
    return its files and folders, in archive order.

    ``file`` is a seekable binary file, read from its start. Only the members' headers are read,
    member contents are skipped by seeking: nothing is extracted or decompressed. Refused with
    :class:`UnsafeArchive`: a compressed archive, anything that is not a tar, more than
    ``max_members`` members, files adding up to more than ``max_unpacked_bytes``, links, devices,
    pipes, sparse files, names outside ``output`` and ``logs`` (absolute, with ``..``, not UTF-8),
    a name given twice, a member cut short by the end of the file.
    """
    file.seek(0, os.SEEK_END)
    length = file.tell()
    file.seek(0)
    start = file.read(tarfile.BLOCKSIZE)
    file.seek(0)
    for magic, compression in _COMPRESSION_MAGIC.items():
        # A tar header says "ustar" at 257, after the first name (which could start as a magic).
        if start.startswith(magic) and start[257:262] != b"ustar":
            raise UnsafeArchive(
                f"The archive is {compression}-compressed",
                "results are plain, uncompressed tar archives. Upload the archive the worker "
                "agent wrote, as it is.",
            )
    members: list[ArchiveMember] = []
    names: set[str] = set()
    unpacked = 0
    try:
        with tarfile.open(
            fileobj=_HeaderReader(file),  # type: ignore[arg-type]
            mode="r:",
            encoding="utf-8",
        ) as tar:
            for info in tar:
                if len(members) == max_members:
                    raise UnsafeArchive(
                        f"The archive holds more than {max_members:,} files and folders, the "
                        "most a result may hold",
                        "have the app write fewer, larger files.",
                    )
                name = _archived_name(info, names)
                if info.isdir():
                    members.append(ArchiveMember(name, 0, is_folder=True, offset=info.offset_data))
                    continue
                unpacked += info.size
                if unpacked > max_unpacked_bytes:
                    raise UnsafeArchive(
                        f"The archive unpacks to more than {max_unpacked_bytes:,} bytes (at "
                        f"{name}, {info.size:,} bytes), the most a result may hold",
                        "have the app write less output.",
                    )
                if info.offset_data + info.size > length:
                    raise UnsafeArchive(
                        f"The archive ends inside {name}", "upload the whole archive."
                    )
                members.append(
                    ArchiveMember(name, info.size, is_folder=False, offset=info.offset_data)
                )
    except tarfile.TarError as error:
        raise UnsafeArchive(f"The archive is not a readable tar archive ({error})") from None
    return members


def check_output(output_dir: Path) -> int:
    """Return the total size in bytes of the files in ``output_dir``, checking it can be archived.

    Raises :class:`UnsafeOutput` exactly when :func:`build_result_archive` would.
    """
    return sum(
        os.stat(entry.source, follow_symlinks=False).st_size
        for entry in _output_entries(Path(output_dir))
        if entry.source is not None and not entry.is_folder
    )


def output_size(output_dir: Path) -> int:
    """Return the total size in bytes of the regular files under ``output_dir``, never raising.

    Meant for watching a folder an app is still writing to: entries that vanish meanwhile are
    skipped, symbolic links are not followed and count for nothing. Use :func:`check_output`
    once the app has stopped.
    """
    total = 0
    pending = [os.fspath(output_dir)]
    while pending:
        try:
            scanner = os.scandir(pending.pop())
        except OSError:
            continue
        with scanner:
            for item in scanner:
                try:
                    if item.is_dir(follow_symlinks=False):
                        pending.append(item.path)
                    elif item.is_file(follow_symlinks=False):
                        total += item.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    return total


def _output_entries(output_dir: Path) -> list[_Entry]:
    """List the output folder and everything in it as archive entries, in no particular order."""
    if output_dir.is_symlink() or not output_dir.is_dir():
        raise UnsafeOutput(f"The output folder {output_dir} is not a folder.")
    entries = [_Entry(OUTPUT_FOLDER, output_dir, is_folder=True)]
    pending = [(output_dir, OUTPUT_FOLDER)]
    while pending:
        folder, folder_name = pending.pop()
        with os.scandir(folder) as scanner:
            for item in scanner:
                name = f"{folder_name}/{item.name}"
                _check_name(name)
                source = folder / item.name
                if item.is_symlink():
                    raise UnsafeOutput(
                        f"{name} is a symbolic link: results may only hold regular files and "
                        "folders."
                    )
                if item.is_dir(follow_symlinks=False):
                    entries.append(_Entry(name, source, is_folder=True))
                    pending.append((source, name))
                elif item.is_file(follow_symlinks=False):
                    entries.append(_Entry(name, source, is_folder=False))
                else:
                    raise UnsafeOutput(
                        f"{name} is a device, pipe or socket: results may only hold regular "
                        "files and folders."
                    )
    return entries


def _check_name(name: str) -> None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # os.scandir decodes undecodable bytes to lone surrogates, which UTF-8 cannot encode.
        printable = name.encode("utf-8", "backslashreplace").decode("ascii", "replace")
        raise UnsafeOutput(
            f"{printable} has a name that is not valid UTF-8: results need UTF-8 file names."
        ) from None


def _archived_name(info: tarfile.TarInfo, seen: set[str]) -> str:
    """The name of a member as :func:`build_result_archive` writes members, added to ``seen``;
    raises :class:`UnsafeArchive` for any other kind of member or name."""
    name = info.name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # tarfile decodes bytes that are not UTF-8 to lone surrogates, which UTF-8 cannot encode.
        printable = name.encode("utf-8", "backslashreplace").decode("ascii", "replace")
        raise UnsafeArchive(
            f"{printable} has a name that is not valid UTF-8", "results need UTF-8 file names."
        ) from None
    if not (info.isdir() or info.type in (tarfile.REGTYPE, tarfile.AREGTYPE)) or info.sparse:
        kind = "a sparse file" if info.sparse else _ENTRY_KINDS.get(info.type, "a special entry")
        raise UnsafeArchive(
            f"{name} is {kind}",
            "results may only hold regular files and folders. Upload the archive the worker "
            "agent wrote.",
        )
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise UnsafeArchive(
            f"{name} is not a plain relative path (absolute, or with an empty, . or .. part)",
            "results only hold paths under output/ and logs/.",
        )
    if parts[0] not in _ARCHIVE_ROOTS:
        raise UnsafeArchive(
            f"{name} is outside output/ and logs/", "results hold their files under those two."
        )
    if name in seen:
        raise UnsafeArchive(f"{name} is in the archive twice", "each path may appear once.")
    seen.add(name)
    return name


def _add_entry(tar: tarfile.TarFile, entry: _Entry) -> None:
    info = tarfile.TarInfo(entry.name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.is_folder:
        info.type = tarfile.DIRTYPE
        info.mode = _FOLDER_MODE
        tar.addfile(info)
        return
    info.mode = _FILE_MODE
    assert entry.source is not None
    try:
        # O_NOFOLLOW: a file swapped for a symbolic link since the listing is refused, not read.
        descriptor = os.open(entry.source, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        if entry.source.is_symlink():
            raise UnsafeOutput(
                f"{entry.name} is a symbolic link: results may only hold regular files."
            ) from error
        raise
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise UnsafeOutput(f"{entry.name} is not a regular file.")
        info.size = status.st_size
        tar.addfile(info, file)


class _HashingWriter:
    """A write-only file object that hashes and counts what passes through it."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self._file.write(data)


class _HeaderReader:
    """A seekable file that tarfile may read headers from, and nothing bigger.

    Reading an uncompressed archive, tarfile seeks over member contents, so every read it asks
    for is a header: a bigger read would be an oversized header, read whole into memory.
    """

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > _MAX_HEADER_BYTES:
            raise UnsafeArchive(
                f"The archive has a member header (pax or long name) of more than "
                f"{_MAX_HEADER_BYTES:,} bytes, which result archives never have"
            )
        return self._file.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()
