"""Draw the PWA's icons (an eye on a dark tile) as PNG files using only the standard library.

Run ``python plugins/pwa/make_icons.py`` to regenerate ``static/icons/``. The PNGs are committed,
so nothing runs at install time. Shapes are computed per pixel with 4x4 supersampling.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent / "static" / "icons"

BG = (15, 23, 42)  # slate-900, the manifest's theme colour
WHITE = (241, 245, 249)
IRIS = (245, 158, 11)  # amber-500
PUPIL = (15, 23, 42)

Color = tuple[int, int, int, int]


def png_bytes(width: int, height: int, pixels: list[bytearray]) -> bytes:
    """Encode rows of RGBA bytes as a PNG file."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(row) for row in pixels)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(
        b"IEND", b""
    )


def eye_shader(scale: float, tile_radius: float) -> Callable[[float, float], Color]:
    """Return f(x, y) in unit coordinates (-1..1) giving the colour at that point.

    ``scale`` shrinks the eye (maskable icons keep it inside the safe zone); ``tile_radius`` is
    the corner radius of the background tile (0 = full bleed square).
    """
    # The almond is the intersection of two circles of radius R whose centres are at (0, +-d).
    half_w = 0.78 * scale
    half_h = 0.46 * scale
    big_r = (half_w**2 + half_h**2) / (2 * half_h)
    d = big_r - half_h
    iris_r = 0.30 * scale
    pupil_r = 0.13 * scale
    glint = (0.09 * scale, -0.09 * scale, 0.05 * scale)

    def inside_tile(x: float, y: float) -> bool:
        if tile_radius <= 0:
            return True
        edge = 1 - tile_radius
        dx, dy = max(abs(x) - edge, 0.0), max(abs(y) - edge, 0.0)
        return dx * dx + dy * dy <= tile_radius * tile_radius

    def shade(x: float, y: float) -> Color:
        if not inside_tile(x, y):
            return (0, 0, 0, 0)
        in_almond = math.hypot(x, y - d) <= big_r and math.hypot(x, y + d) <= big_r
        if not in_almond:
            return (*BG, 255)
        r = math.hypot(x, y)
        if math.hypot(x - glint[0], y - glint[1]) <= glint[2]:
            return (*WHITE, 255)
        if r <= pupil_r:
            return (*PUPIL, 255)
        if r <= iris_r:
            return (*IRIS, 255)
        return (*WHITE, 255)

    return shade


def render(size: int, shade: Callable[[float, float], Color], samples: int = 4) -> bytes:
    """Rasterise ``shade`` into a ``size`` x ``size`` PNG with ``samples``^2 supersampling."""
    rows: list[bytearray] = []
    n = samples * samples
    for py in range(size):
        row = bytearray()
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    x = ((px + (sx + 0.5) / samples) / size) * 2 - 1
                    y = ((py + (sy + 0.5) / samples) / size) * 2 - 1
                    c = shade(x, y)
                    acc[0] += c[0] * c[3]
                    acc[1] += c[1] * c[3]
                    acc[2] += c[2] * c[3]
                    acc[3] += c[3]
            alpha = acc[3] / n
            if acc[3]:
                row += bytes((round(acc[0] / acc[3]), round(acc[1] / acc[3]), round(acc[2] / acc[3])))
            else:
                row += b"\x00\x00\x00"
            row.append(round(alpha))
        rows.append(row)
    return png_bytes(size, size, rows)


ICONS: dict[str, tuple[int, float, float]] = {
    # file name: (size, eye scale, tile corner radius)
    "icon-192.png": (192, 1.0, 0.22),
    "icon-512.png": (512, 1.0, 0.22),
    "maskable-512.png": (512, 0.72, 0.0),  # content inside the 80% safe-zone circle, full bleed
    "apple-touch-icon.png": (180, 0.9, 0.0),  # iOS rounds the corners itself; must be opaque
    "favicon-32.png": (32, 1.0, 0.22),
}


def main() -> None:
    """Write every icon in ``ICONS`` into ``static/icons``."""
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    for name, (size, scale, radius) in ICONS.items():
        (ICON_DIR / name).write_bytes(render(size, eye_shader(scale, radius)))
        print(f"wrote {ICON_DIR / name} ({size}x{size})")


if __name__ == "__main__":
    main()
