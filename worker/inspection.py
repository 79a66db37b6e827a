"""Upload inspection: is a file a WASI command module this marketplace can run, and what does
it import and export (:func:`inspect_wasm`).

The DApp Store checks every uploaded app with it before the app is listed; the runtime checks
an app's header with it before compiling. It validates with wasmtime, never compiles (compiling
a large module takes seconds) and reads the import and export sections itself.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import wasmtime

__all__ = [
    "ENTRY_POINT",
    "UPLOAD_HINT",
    "WASI_IMPORT_MODULES",
    "InvalidWasm",
    "WasmInfo",
    "check_header",
    "inspect_wasm",
]

WASI_IMPORT_MODULES: frozenset[str] = frozenset({"wasi_snapshot_preview1", "wasi_unstable"})
"""The only modules an uploaded app may import from: the WASI preview 1 host functions."""

ENTRY_POINT = "_start"

_WASM_MAGIC = b"\0asm"
_HEADER_SIZE = 8
_CORE_MODULE_VERSION = 1
_COMPONENT_LAYER = 1
_READ_CHUNK_SIZE = 1 << 20
_MEGABYTE = 1024 * 1024

_SECTION_IMPORT = 2
_SECTION_EXPORT = 7
_EXTERNAL_KIND_FUNCTION = 0

_IMPORT_KIND_FUNCTION = 0x00
_IMPORT_KIND_TABLE = 0x01
_IMPORT_KIND_MEMORY = 0x02
_IMPORT_KIND_GLOBAL = 0x03
_IMPORT_KIND_TAG = 0x04

# Reference types written as a prefix byte followed by a heap type (function-references and
# GC proposals); every other value type is a single byte.
_REF_TYPE_PREFIXES = frozenset({0x63, 0x64})
_LIMITS_HAS_MAXIMUM = 0x01
_LIMITS_HAS_PAGE_SIZE = 0x08

UPLOAD_HINT = "upload the .wasm file your build produced"


class InvalidWasm(ValueError):
    """The uploaded file is not a WebAssembly module this marketplace can run.

    The message says which check failed and what the developer should do about it.
    """


@dataclass(frozen=True)
class WasmInfo:
    """What :func:`inspect_wasm` learned about a valid WASI command module."""

    sha256: str
    """Hex SHA-256 digest of the file's bytes."""
    size: int
    """Size of the file in bytes."""
    exports: tuple[str, ...]
    """Names of all exports (functions, memories, tables, globals), in module order."""
    import_modules: tuple[str, ...]
    """Distinct module names the imports come from, in order of first appearance."""


def inspect_wasm(source: BinaryIO | bytes, *, max_bytes: int) -> WasmInfo:
    """Check that ``source`` is a WASI command module and describe it.

    Preconditions: ``max_bytes`` is positive; a file-like ``source`` is open for binary reading
    and seekable (Django's ``UploadedFile`` is). It is rewound before reading and left rewound
    afterwards, so the caller can save it next.

    The file is hashed while it is read in chunks and refused as soon as it is known to exceed
    ``max_bytes``; a file within the limit is held in memory once, because the validator needs
    the whole module. It is validated, not compiled: compiling a large module takes seconds.

    Raises :class:`InvalidWasm` when the file is too big, is not a core WebAssembly module
    (including WASI components, not supported yet), fails validation, has no ``_start``
    function export, or imports from a module other than WASI.
    """
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    if isinstance(source, bytes | bytearray | memoryview):
        wasm = bytes(source)
        _check_size(len(wasm), max_bytes)
        sha256 = hashlib.sha256(wasm).hexdigest()
    else:
        wasm, sha256 = _read_file(source, max_bytes)

    check_header(wasm)
    _validate(wasm)
    exports, import_modules = _parse_exports_and_imports(wasm)
    _check_wasi_command(exports, import_modules)
    return WasmInfo(
        sha256=sha256,
        size=len(wasm),
        exports=tuple(name for name, _kind in exports),
        import_modules=import_modules,
    )


def _read_file(source: BinaryIO, max_bytes: int) -> tuple[bytes, str]:
    """Read a seekable binary file from its start, hashing it chunk by chunk."""
    try:
        size = source.seek(0, os.SEEK_END)
        _check_size(size, max_bytes)
        source.seek(0)
        digest = hashlib.sha256()
        buffer = bytearray()
        while chunk := source.read(_READ_CHUNK_SIZE):
            digest.update(chunk)
            buffer += chunk
            # The file may have grown since its size was taken: never hold more than the limit.
            _check_size(len(buffer), max_bytes)
        return bytes(buffer), digest.hexdigest()
    finally:
        source.seek(0)


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise InvalidWasm(
            f"The file is {_megabytes(size)} ({size:,} bytes), over the {_megabytes(max_bytes)} "
            f"({max_bytes:,} bytes) limit for apps: build in release mode, strip debug "
            "information (e.g. wasm-opt -Oz --strip-debug) and upload the smaller file."
        )


def _megabytes(size: int) -> str:
    return f"{size / _MEGABYTE:.2f} MB"


def check_header(wasm: bytes) -> None:
    """Raise :class:`InvalidWasm`, saying what the file is instead, unless ``wasm`` starts with
    the header of a core WebAssembly module of version 1."""
    if not wasm:
        raise InvalidWasm(f"The file is empty: {UPLOAD_HINT}.")
    if not wasm.startswith(_WASM_MAGIC):
        start = wasm[:_HEADER_SIZE].hex(" ")
        raise InvalidWasm(
            f"This file is not a WebAssembly module (it starts with {start}): {UPLOAD_HINT}."
        )
    if len(wasm) < _HEADER_SIZE:
        raise InvalidWasm(
            f"The file is cut short: it has only {len(wasm)} bytes, less than a WebAssembly "
            f"header; {UPLOAD_HINT} again."
        )
    version = int.from_bytes(wasm[4:6], "little")
    layer = int.from_bytes(wasm[6:8], "little")
    if layer == _COMPONENT_LAYER:
        raise InvalidWasm(
            "This file is a WASI component, and components are not supported yet, only core "
            "WebAssembly modules: build a WASI preview 1 command (e.g. --target wasm32-wasip1) "
            "instead."
        )
    if version != _CORE_MODULE_VERSION or layer != 0:
        raise InvalidWasm(
            f"This WebAssembly binary has format version {wasm[4:8].hex(' ')}, but only core "
            f"modules of version 1 are supported: {UPLOAD_HINT} for wasm32-wasip1."
        )


@functools.cache
def _validation_engine() -> wasmtime.Engine:
    # Engines are thread-safe and costly to create; validation needs no special configuration.
    return wasmtime.Engine()


def _validate(wasm: bytes) -> None:
    try:
        wasmtime.Module.validate(_validation_engine(), wasm)
    except wasmtime.WasmtimeError as error:
        # Drop the Rust stack backtrace wasmtime appends: it means nothing to an app developer.
        reason = str(error).split("\n\n", 1)[0].strip()
        reason = " ".join(reason.split())
        raise InvalidWasm(
            f"The WebAssembly module is invalid ({reason}): the file may be truncated or "
            f"corrupted, or use a feature this runtime does not support; {UPLOAD_HINT} again."
        ) from error


def _check_wasi_command(
    exports: tuple[tuple[str, int], ...], import_modules: tuple[str, ...]
) -> None:
    if (ENTRY_POINT, _EXTERNAL_KIND_FUNCTION) not in exports:
        raise InvalidWasm(
            "The module has no WASI entry point: it must export a `_start` function "
            "(build it as a WASI command, e.g. --target wasm32-wasip1)"
        )
    for module in import_modules:
        if module not in WASI_IMPORT_MODULES:
            allowed = " or ".join(f"`{name}`" for name in sorted(WASI_IMPORT_MODULES))
            raise InvalidWasm(
                f"The module imports from `{module}`, but apps may only import WASI functions "
                f"(from {allowed}): build it for wasm32-wasip1 without host-specific imports."
            )


def _parse_exports_and_imports(
    wasm: bytes,
) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...]]:
    """Return ``((export name, kind), ...)`` and the distinct import module names.

    Precondition: ``wasm`` passed validation, so a parse failure here means this reader does not
    know some encoding; it is still reported as :class:`InvalidWasm` rather than crashing.
    """
    reader = _Reader(wasm, _HEADER_SIZE)
    exports: list[tuple[str, int]] = []
    import_modules: dict[str, None] = {}
    try:
        while not reader.at_end():
            section_id = reader.byte()
            section_size = reader.u32()
            section_end = reader.position + section_size
            if section_end > len(wasm):
                raise _MalformedWasm(f"section {section_id} runs past the end of the file")
            if section_id == _SECTION_IMPORT:
                for _ in range(reader.u32()):
                    import_modules[reader.name()] = None
                    reader.name()
                    _skip_import_description(reader)
            elif section_id == _SECTION_EXPORT:
                for _ in range(reader.u32()):
                    name = reader.name()
                    kind = reader.byte()
                    reader.u32()
                    exports.append((name, kind))
            reader.position = section_end
    except _MalformedWasm as error:
        raise InvalidWasm(
            f"The module's import or export section could not be read ({error}): "
            f"{UPLOAD_HINT} again, built for wasm32-wasip1."
        ) from error
    return tuple(exports), tuple(import_modules)


def _skip_import_description(reader: _Reader) -> None:
    kind = reader.byte()
    skip = _IMPORT_DESCRIPTION_SKIPPERS.get(kind)
    if skip is None:
        raise _MalformedWasm(f"unknown import kind 0x{kind:02x}")
    skip(reader)


def _skip_function_import(reader: _Reader) -> None:
    reader.u32()  # type index


def _skip_table_import(reader: _Reader) -> None:
    _skip_value_type(reader)
    _skip_limits(reader)


def _skip_global_import(reader: _Reader) -> None:
    _skip_value_type(reader)
    reader.byte()  # mutability


def _skip_tag_import(reader: _Reader) -> None:
    reader.byte()  # attribute
    reader.u32()  # type index


def _skip_value_type(reader: _Reader) -> None:
    if reader.byte() in _REF_TYPE_PREFIXES:
        reader.leb128()  # heap type, a signed 33-bit integer; its value does not matter here


def _skip_limits(reader: _Reader) -> None:
    flags = reader.byte()
    reader.leb128()  # minimum
    if flags & _LIMITS_HAS_MAXIMUM:
        reader.leb128()
    if flags & _LIMITS_HAS_PAGE_SIZE:
        reader.leb128()


# What follows an import's names, by import kind: read past it.
_IMPORT_DESCRIPTION_SKIPPERS: dict[int, Callable[[_Reader], None]] = {
    _IMPORT_KIND_FUNCTION: _skip_function_import,
    _IMPORT_KIND_TABLE: _skip_table_import,
    _IMPORT_KIND_MEMORY: _skip_limits,
    _IMPORT_KIND_GLOBAL: _skip_global_import,
    _IMPORT_KIND_TAG: _skip_tag_import,
}


class _MalformedWasm(Exception):
    """Internal: the binary ended or was encoded in a way this reader does not understand."""


class _Reader:
    """A cursor over a WebAssembly binary reading bytes, LEB128 integers and names."""

    _MAX_LEB128_BYTES = 10  # enough for 64-bit values

    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data = data
        self.position = position

    def at_end(self) -> bool:
        return self.position >= len(self.data)

    def byte(self) -> int:
        if self.position >= len(self.data):
            raise _MalformedWasm(f"unexpected end of file at offset {self.position}")
        value = self.data[self.position]
        self.position += 1
        return value

    def leb128(self) -> int:
        """Read an unsigned LEB128 integer (signed ones are skipped with this too)."""
        result = 0
        for index in range(self._MAX_LEB128_BYTES):
            value = self.byte()
            result |= (value & 0x7F) << (7 * index)
            if not value & 0x80:
                return result
        raise _MalformedWasm(f"integer too long at offset {self.position}")

    def u32(self) -> int:
        value = self.leb128()
        if value >= 1 << 32:
            raise _MalformedWasm(f"32-bit integer out of range at offset {self.position}")
        return value

    def name(self) -> str:
        length = self.u32()
        end = self.position + length
        if end > len(self.data):
            raise _MalformedWasm(f"name runs past the end of the file at offset {self.position}")
        raw = self.data[self.position : end]
        self.position = end
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _MalformedWasm(f"name is not UTF-8 at offset {self.position}") from error
