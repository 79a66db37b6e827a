"""The demo's listings say what their apps do in the workers' sandbox: the SVG programs draw
shapes and paths, and leave text out, since the sandbox has no fonts."""

from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("name", "output", "says"),
    [
        ("resvg SVG renderer", "out.png", "No text in the workers' sandbox"),
        ("usvg SVG normalizer", "out.svg", "the workers' sandbox has none: its output leaves"),
    ],
)
def test_the_svg_apps_leave_text_out_and_their_listings_say_so(tmp_path, name, output, says):
    app = next(app for app in APPS if app["name"] == name)
    with_text, stderr = _run(tmp_path, app, _svg(SHAPES, TEXT), output)
    shapes_only, _ = _run(tmp_path, app, _svg(SHAPES), output)

    # The same output with the text as without it: no glyph is drawn, and stderr says why.
    assert with_text == shapes_only
    assert "font-family" in stderr
    assert says in app["description"]
    assert ", text," not in app["description"]
