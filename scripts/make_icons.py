"""Draw OKPay's app icons once (they are committed): the brand's green tile with "OK".

    python -m venv /tmp/icons && /tmp/icons/bin/pip install pillow
    /tmp/icons/bin/python scripts/make_icons.py

Pillow is needed only here, not by OKPay. Maskable icons keep the mark inside the safe zone (the
central 80 % circle) on a full-bleed background; "any" icons are a rounded tile on transparency.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "src" / "okpay" / "web" / "static" / "okpay" / "icons"
BRAND = (11, 110, 79, 255)
WHITE = (255, 255, 255, 255)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _mark(draw: ImageDraw.ImageDraw, size: int, scale: float) -> None:
    font = ImageFont.truetype(FONT, int(size * scale))
    box = draw.textbbox((0, 0), "OK", font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    draw.text(((size - w) / 2 - box[0], (size - h) / 2 - box[1]), "OK", font=font, fill=WHITE)


def tile(size: int, *, maskable: bool) -> Image.Image:
    big = size * 4  # drawn large, scaled down: smooth edges
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=BRAND)
        _mark(draw, big, 0.30)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=int(big * 0.22), fill=BRAND)
        _mark(draw, big, 0.42)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        tile(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        tile(size, maskable=True).save(OUT / f"maskable-{size}.png", optimize=True)
    tile(180, maskable=True).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)
    tile(32, maskable=False).save(OUT / "favicon-32.png", optimize=True)
    tile(64, maskable=False).save(OUT / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
