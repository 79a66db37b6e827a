from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
from pathlib import Path

import pytest

from tests.worker import archives
from worker.results import (
    ResultArchive,
    UnsafeArchive,
    UnsafeOutput,
    build_result_archive,
    check_output,
    check_result_archive,
    output_size,
    verify_result_archive,
)

GOLDEN_DIGEST = "e7172d7ff6df1fb7023a0e2b923cb2906c49d05f46d6c0137eb2d8d2ba3bc33e"
"""sha256 of the archive of :func:`make_run`'s files, the same with Python 3.11, 3.12 and 3.13."""


def make_run(folder: Path, *, reverse: bool = False) -> tuple[Path, Path, Path]:
    """Lay out a finished run's files in ``folder``: output files and both logs.

    ``reverse`` creates the same files in the opposite order, with other modes and times.
    """
    output = folder / "output"
    files = {
        "b.txt": b"second\n",
        "a/c.bin": bytes(range(256)),
        "a/deeper/d.txt": b"",
        "\u00e9t\u00e9.txt": b"summer",
    }
    folders = ["empty"]
    output.mkdir(parents=True)
    for name in reversed(folders) if reverse else folders:
        (output / name).mkdir()
    for index, (name, content) in enumerate(reversed(files.items()) if reverse else files.items()):
        path = output / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o600 if reverse else 0o755)
        os.utime(path, (1_000_000 + index, 2_000_000 + index * (7 if reverse else 1)))
    stdout, stderr = folder / "stdout.txt", folder / "stderr.txt"
    stdout.write_bytes(b"progress: 100\n")
    stderr.write_bytes(b"")
    return output, stdout, stderr


def build(folder: Path, **options: bool) -> ResultArchive:
    output, stdout, stderr = make_run(folder, **options)
    return build_result_archive(output, stdout, stderr, folder / "result.tar")


def test_archive_holds_sorted_entries_with_fixed_metadata(tmp_path: Path) -> None:
    archive = build(tmp_path)

    with tarfile.open(archive.path) as tar:
        members = tar.getmembers()
    assert [member.name for member in members] == [
        "logs",
        "logs/stderr.txt",
        "logs/stdout.txt",
        "output",
        "output/a",
        "output/a/c.bin",
        "output/a/deeper",
        "output/a/deeper/d.txt",
        "output/b.txt",
        "output/empty",
        "output/\u00e9t\u00e9.txt",
    ]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
    assert {member.mode for member in members if member.isdir()} == {0o755}
    assert {member.mode for member in members if member.isfile()} == {0o644}
    assert all(member.isdir() or member.isfile() for member in members)


def test_archive_holds_the_files_contents(tmp_path: Path) -> None:
    archive = build(tmp_path)

    with tarfile.open(archive.path) as tar:
        contents = {
            member.name: tar.extractfile(member).read() for member in tar if member.isfile()
        }
    assert contents == {
        "logs/stderr.txt": b"",
        "logs/stdout.txt": b"progress: 100\n",
        "output/a/c.bin": bytes(range(256)),
        "output/a/deeper/d.txt": b"",
        "output/b.txt": b"second\n",
        "output/\u00e9t\u00e9.txt": b"summer",
    }


def test_digest_and_size_describe_the_archive_file(tmp_path: Path) -> None:
    archive = build(tmp_path)

    content = archive.path.read_bytes()
    assert archive.digest == hashlib.sha256(content).digest()
    assert archive.size == len(content)
    assert archive.size % 10240 == 0  # whole tar records, no compression


def test_same_files_give_identical_archives_whatever_their_order_modes_and_times(
    tmp_path: Path,
) -> None:
    first = build(tmp_path / "first")
    second = build(tmp_path / "second", reverse=True)

    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.digest == second.digest


def test_archive_bytes_are_pinned(tmp_path: Path) -> None:
    """Workers on other machines (or Python versions) must produce these very bytes."""
    archive = build(tmp_path)

    assert archive.digest.hex() == GOLDEN_DIGEST


def test_different_content_gives_a_different_digest(tmp_path: Path) -> None:
    first = build(tmp_path / "first")
    output, stdout, stderr = make_run(tmp_path / "second")
    (output / "b.txt").write_bytes(b"Second\n")

    second = build_result_archive(output, stdout, stderr, tmp_path / "second.tar")

    assert first.digest != second.digest


def test_long_and_unicode_names_survive(tmp_path: Path) -> None:
    output, stdout, stderr = make_run(tmp_path)
    long_name = "\u65e5\u672c" * 40 + ".txt"
    (output / long_name).write_bytes(b"x")

    archive = build_result_archive(output, stdout, stderr, tmp_path / "result.tar")

    with tarfile.open(archive.path) as tar:
        assert tar.extractfile(f"output/{long_name}").read() == b"x"


def test_verify_accepts_the_digest_and_rejects_a_changed_archive(tmp_path: Path) -> None:
    archive = build(tmp_path)
    assert verify_result_archive(archive.path, archive.digest)

    content = bytearray(archive.path.read_bytes())
    content[600] ^= 0x01
    archive.path.write_bytes(bytes(content))

    assert not verify_result_archive(archive.path, archive.digest)
    assert not verify_result_archive(archive.path, b"\0" * 32)


def test_symbolic_link_in_output_is_refused(tmp_path: Path) -> None:
    output, stdout, stderr = make_run(tmp_path)
    (output / "a" / "passwd").symlink_to("/etc/passwd")

    with pytest.raises(UnsafeOutput, match="output/a/passwd is a symbolic link"):
        build_result_archive(output, stdout, stderr, tmp_path / "result.tar")

    assert not (tmp_path / "result.tar").exists()


def test_symbolic_link_staying_inside_output_is_refused_too(tmp_path: Path) -> None:
    output, _stdout, _stderr = make_run(tmp_path)
    (output / "alias.txt").symlink_to("b.txt")

    with pytest.raises(UnsafeOutput, match=r"output/alias\.txt is a symbolic link"):
        check_output(output)


def test_output_folder_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    output, stdout, stderr = make_run(tmp_path)
    link = tmp_path / "linked-output"
    link.symlink_to(output)

    with pytest.raises(UnsafeOutput, match="is not a folder"):
        build_result_archive(link, stdout, stderr, tmp_path / "result.tar")


def test_pipe_in_output_is_refused(tmp_path: Path) -> None:
    output, stdout, stderr = make_run(tmp_path)
    os.mkfifo(output / "pipe")

    with pytest.raises(UnsafeOutput, match="output/pipe is a device, pipe or socket"):
        build_result_archive(output, stdout, stderr, tmp_path / "result.tar")


def test_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    output, stdout, stderr = make_run(tmp_path)
    # "café" in Latin-1: Linux file names are bytes, not necessarily UTF-8.
    with open(os.path.join(os.fsencode(output), b"caf\xe9.txt"), "wb") as file:
        file.write(b"latin-1 name")

    with pytest.raises(UnsafeOutput, match="not valid UTF-8"):
        build_result_archive(output, stdout, stderr, tmp_path / "result.tar")


def test_symbolic_link_as_log_is_refused(tmp_path: Path) -> None:
    output, stdout, stderr = make_run(tmp_path)
    stdout.unlink()
    stdout.symlink_to("/etc/passwd")

    with pytest.raises(UnsafeOutput, match=r"logs/stdout\.txt is a symbolic link"):
        build_result_archive(output, stdout, stderr, tmp_path / "result.tar")


def test_archive_cannot_be_written_inside_the_output_folder(tmp_path: Path) -> None:
    output, stdout, stderr = make_run(tmp_path)

    with pytest.raises(ValueError, match="must not be written inside the output folder"):
        build_result_archive(output, stdout, stderr, output / "result.tar")


def test_check_output_counts_the_bytes_of_files(tmp_path: Path) -> None:
    output, _stdout, _stderr = make_run(tmp_path)

    assert check_output(output) == 7 + 256 + 0 + 6


def test_output_size_never_raises_and_ignores_links(tmp_path: Path) -> None:
    output, _stdout, _stderr = make_run(tmp_path)
    (output / "big").symlink_to("/dev/zero")
    os.mkfifo(output / "pipe")

    assert output_size(output) == 7 + 256 + 0 + 6
    assert output_size(tmp_path / "missing") == 0


def test_archive_is_a_plain_uncompressed_tar(tmp_path: Path) -> None:
    archive = build(tmp_path)

    content = archive.path.read_bytes()
    assert content[257:263] == b"ustar\0"
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:") as tar:
        assert tar.getnames()[0] == "logs"


def check(content: bytes, *, max_members: int = 10_000, max_unpacked_bytes: int = 1 << 28):
    return check_result_archive(
        io.BytesIO(content), max_members=max_members, max_unpacked_bytes=max_unpacked_bytes
    )


def tar_of(*entries: tarfile.TarInfo | tuple[str, bytes], format=tarfile.PAX_FORMAT) -> bytes:
    """A plain tar of files given as (name, content) and entries given as TarInfo."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w", format=format) as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tar.addfile(info, io.BytesIO(entry[1]))
    return data.getvalue()


def test_an_agents_archive_passes_its_check_with_where_each_file_starts(tmp_path: Path) -> None:
    archive = build(tmp_path)
    content = archive.path.read_bytes()

    members = check(content)

    assert [(m.name, m.is_folder) for m in members][:4] == [
        ("logs", True),
        ("logs/stderr.txt", False),
        ("logs/stdout.txt", False),
        ("output", True),
    ]
    assert len(members) == 11
    stdout = members[2]
    assert content[stdout.offset : stdout.offset + stdout.size] == b"progress: 100\n"


@pytest.mark.parametrize("hostile", archives.HOSTILE.values(), ids=archives.HOSTILE.keys())
def test_hostile_archives_are_refused_with_what_is_wrong(hostile) -> None:
    build_hostile, refusal = hostile

    with pytest.raises(UnsafeArchive, match=re.escape(refusal)):
        check(build_hostile())


def test_a_bomb_is_refused_without_decompressing_it() -> None:
    bomb = archives.gzip_bomb()
    assert len(bomb) < 1024 * 1024

    with pytest.raises(UnsafeArchive) as refused:
        check(bomb)
    assert str(refused.value) == (
        "The archive is gzip-compressed: results are plain, uncompressed tar archives. Upload the "
        "archive the worker agent wrote, as it is."
    )


def test_only_the_headers_are_read() -> None:
    content = tar_of(("output/big.bin", bytes(4 * 1024 * 1024)), ("output/small.txt", b"hi"))

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size=-1):
            data = super().read(size)
            Counting.read_bytes += len(data)
            return data

    members = check_result_archive(Counting(content), max_members=10, max_unpacked_bytes=1 << 30)

    assert [m.size for m in members] == [4 * 1024 * 1024, 2]
    assert Counting.read_bytes < 8 * 1024


def test_files_adding_up_to_more_than_the_limit_are_refused() -> None:
    content = tar_of(("output/a.bin", bytes(600)), ("output/b.bin", bytes(600)))

    assert len(check(content, max_unpacked_bytes=1200)) == 2
    with pytest.raises(UnsafeArchive) as refused:
        check(content, max_unpacked_bytes=1000)
    assert str(refused.value) == (
        "The archive unpacks to more than 1,000 bytes (at output/b.bin, 600 bytes), the most a "
        "result may hold: have the app write less output."
    )


def test_members_past_the_limit_are_refused() -> None:
    content = tar_of(("output/a", b""), ("output/b", b""), ("output/c", b""))

    assert len(check(content, max_members=3)) == 3
    with pytest.raises(UnsafeArchive, match="more than 2 files and folders"):
        check(content, max_members=2)


def _entry(name: str, kind: bytes, **fields) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for field, value in fields.items():
        setattr(info, field, value)
    return info


@pytest.mark.parametrize(
    ("entry", "refusal"),
    [
        (_entry("output/h", tarfile.LNKTYPE, linkname="output/a"), "output/h is a hard link"),
        (_entry("output/dev", tarfile.CHRTYPE), "output/dev is a device"),
        (_entry("output/fifo", tarfile.FIFOTYPE), "output/fifo is a pipe"),
        (("/etc/cron.d/x", b""), "/etc/cron.d/x is not a plain relative path"),
        (("output//x", b""), "output//x is not a plain relative path"),
        (("elsewhere/x", b""), "elsewhere/x is outside output/ and logs/"),
        (("output/a", b"again"), "output/a is in the archive twice"),
        (("output/\udcff.txt", b""), "has a name that is not valid UTF-8"),
    ],
)
def test_what_the_agent_never_archives_is_refused(entry, refusal) -> None:
    content = tar_of(("output/a", b"x"), entry, format=tarfile.GNU_FORMAT)

    with pytest.raises(UnsafeArchive, match=re.escape(refusal)):
        check(content)


def test_a_sparse_file_is_refused() -> None:
    # A GNU sparse member declares a size its archive does not hold: a bomb without compression.
    header = bytearray(tarfile.TarInfo("output/s").tobuf(tarfile.GNU_FORMAT))
    header[156:157] = tarfile.GNUTYPE_SPARSE
    header[483:495] = b"%011o\0" % (1 << 30)  # realsize
    header[148:156] = b" " * 8
    header[148:155] = b"%06o\0" % sum(header)

    with pytest.raises(UnsafeArchive, match="output/s is a sparse file"):
        check(bytes(header) + bytes(1024))


def test_a_huge_header_is_refused_before_it_is_read() -> None:
    info = tarfile.TarInfo("output/a")
    info.pax_headers = {"comment": "x" * (1 << 20)}
    content = tar_of(info)

    with pytest.raises(UnsafeArchive, match=r"member header .* of more than 65,536 bytes"):
        check(content)


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        (b"", "not a readable tar archive (empty file)"),
        (b"a deterministic archive", "not a readable tar archive"),
        (b"BZh91AY&SY" + bytes(600), "bzip2-compressed"),
    ],
)
def test_what_is_no_tar_is_refused(content, refusal) -> None:
    with pytest.raises(UnsafeArchive, match=re.escape(refusal)):
        check(content)


def test_an_archive_cut_short_is_refused() -> None:
    content = tar_of(("output/a.bin", bytes(5000)))

    with pytest.raises(UnsafeArchive, match=re.escape("The archive ends inside output/a.bin")):
        check(content[:4000])
