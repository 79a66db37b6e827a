"""The demo's listings say what their apps do in the workers' sandbox: the SVG programs draw
shapes and paths, and leave text out, since the sandbox has no fonts."""

from __future__ import annotations

from pathlib import Path

from marketplace.demo.listings import APPS, _wasm
from worker.limits import limits_for_category
from worker.runtime import run_wasi

SHAPES = '<circle cx="50" cy="50" r="40" fill="#c00"/>'
TEXT = '<text x="100" y="60" font-size="30">Walk</text>'


def _svg(*elements: str) -> str:
    return '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">{}</svg>'.format(
        "".join(elements)
    )


def _run(tmp_path: Path, app: dict, svg: str, output: str) -> tuple[bytes, str]:
    """The app's output file and stderr for `svg`, run as a worker runs it."""
    task = tmp_path / f"{app['name']}-{len(svg)}"
    (task / "input").mkdir(parents=True)
    (task / "input" / "drawing.svg").write_text(svg)
    result = run_wasi(
        _wasm(*app["wasm"])[1],
        args=["/input/drawing.svg", f"/output/{output}"],
        input_dir=task / "input",
        output_dir=task / "output",
        limits=limits_for_category(300),
    )
    assert result.ok, result.failure
    return (task / "output" / output).read_bytes(), result.stderr_path.read_text()


def _app(name: str) -> dict:
    return next(app for app in APPS if app["name"] == name)


def test_resvg_leaves_text_out_and_its_listing_says_so(tmp_path):
    resvg = _app("resvg SVG renderer")
    with_text, stderr = _run(tmp_path, resvg, _svg(SHAPES, TEXT), "out.png")
    shapes_only, _ = _run(tmp_path, resvg, _svg(SHAPES), "out.png")

    # The same pixels with the text as without it: no glyph is drawn, and stderr says why.
    assert with_text == shapes_only
    assert "font-family" in stderr
    assert "sandbox has no fonts" in resvg["summary"]
    assert "No text in the workers' sandbox" in resvg["description"]
    assert ", text," not in resvg["description"]


def test_usvg_leaves_text_out_and_its_listing_says_so(tmp_path):
    usvg = _app("usvg SVG normalizer")
    with_text, stderr = _run(tmp_path, usvg, _svg(SHAPES, TEXT), "out.svg")
    shapes_only, _ = _run(tmp_path, usvg, _svg(SHAPES), "out.svg")

    assert with_text == shapes_only
    assert "font-family" in stderr
    assert "the workers' sandbox has none: its output leaves `<text>` out" in usvg["description"]
