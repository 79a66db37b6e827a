"""Result archives for the tests: one as the worker agent writes it, and hostile ones that a
worker could upload instead (an archive bomb, a flood of members, links, names leaving the
archive)."""

from __future__ import annotations

import functools
import io
import tarfile
import tempfile
from pathlib import Path

from worker.results import build_result_archive

BOMB_UNPACKED_BYTES = 200 * 1024 * 1024


def agent_archive(files: dict[str, bytes] | None = None, *, stdout: bytes = b"") -> bytes:
    """The bytes of the result archive the worker agent writes for a run that left `files`
    (paths relative to /output) and printed `stdout`."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        output = root / "output"
        output.mkdir()
        for name, content in (files or {"out.txt": b"42\n"}).items():
            path = output / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        (root / "stdout.txt").write_bytes(stdout)
        (root / "stderr.txt").write_bytes(b"")
        archive = build_result_archive(
            output, root / "stdout.txt", root / "stderr.txt", root / "result.tar"
        )
        return archive.path.read_bytes()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self._left)
        buffer[:count] = bytes(count)
        self._left -= count
        return count


@functools.cache
def gzip_bomb(name: str = "output/zeros") -> bytes:
    """A gzip tar of one file `name` of BOMB_UNPACKED_BYTES zeros: about 200 KB."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = BOMB_UNPACKED_BYTES
        tar.addfile(info, io.BufferedReader(_Zeros(info.size), 1 << 20))
    return data.getvalue()


@functools.cache
def many_members(count: int = 100_000) -> bytes:
    """A plain tar of `count` empty files output/000000, output/000001...

    The headers are tarfile's own for output/000000 with the digits and checksum patched:
    writing them one by one with tarfile takes seconds.
    """
    template = tarfile.TarInfo("output/000000").tobuf(tarfile.USTAR_FORMAT)
    # A header's checksum is the sum of its bytes, its own 8-byte field counted as spaces.
    base = sum(template[:148]) + 8 * ord(" ") + sum(template[156:]) - 6 * ord("0")
    headers = []
    for index in range(count):
        digits = b"%06d" % index
        checksum = b"%06o\0" % (base + sum(digits))
        headers.append(template[:7] + digits + template[13:148] + checksum + template[155:])
    return b"".join(headers) + bytes(2 * tarfile.BLOCKSIZE)


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, content in members:
            info.size = len(content) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(content) if info.isreg() else None)
    return data.getvalue()


def _file(name: str, content: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), content


def with_symlink() -> bytes:
    """output/passwd is a symbolic link to /etc/passwd."""
    link = tarfile.TarInfo("output/passwd")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    return _tar(_file("output/a.txt"), (link, b""))


def with_parent_names() -> bytes:
    """A file named output/../../escaped.txt."""
    return _tar(_file("output/a.txt"), _file("output/../../escaped.txt"))


HOSTILE = {
    "gzip bomb": (gzip_bomb, "gzip-compressed"),
    "100,000 members": (many_members, "more than 10,000 files and folders"),
    "symbolic link": (with_symlink, "output/passwd is a symbolic link"),
    "../ names": (with_parent_names, "output/../../escaped.txt is not a plain relative path"),
}
"""Hostile archives by name: how to build each, and what its refusal says."""
