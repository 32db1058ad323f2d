#!/usr/bin/env python3
"""Joins pictures side by side at the height of the first (the README's docs/guide-chelsea.jpg:
unguided | guided | the guide). A docs-making step, not part of the renderer; needs Pillow.

    scripts/guide-figure.py OUT.jpg unguided.png guided.png samples/astronaut.png
"""
import sys

from PIL import Image

GAP = 4  # pixels of dark grey between and around the pictures


def main(out, *paths):
    images = [Image.open(p).convert("RGB") for p in paths]
    height = images[0].height
    images = [im if im.height == height else im.resize((round(im.width * height / im.height), height), Image.LANCZOS) for im in images]
    width = sum(im.width for im in images) + GAP * (len(images) + 1)
    sheet = Image.new("RGB", (width, height + 2 * GAP), (24, 24, 24))
    x = GAP
    for im in images:
        sheet.paste(im, (x, GAP))
        x += im.width + GAP
    sheet.save(out, quality=90)
    print(f"wrote {out} ({sheet.width}x{sheet.height})")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], *sys.argv[2:])
