"""The IPv4 map: the address space by /16 on a 256×256 Hilbert curve, coloured by outbreak.

A Hilbert curve keeps neighbouring addresses in neighbouring pixels, so every /8 is a 16×16
square and every /16 one pixel (the layout of the classic "map of the Internet"). Each pixel is
coloured by how many vulnerable hosts its /16 holds (brightness, log scale) and by the share of
them infected by the chosen time (blue = none, red = all). Infection is counted as *ever
infected by t*, which the host table records exactly (a host cured by a reboot stays counted).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

SIDE = 256  # pixels per side: 256 × 256 = 65,536 /16 blocks
EMPTY_RGB = np.array([24, 24, 28], dtype=np.float64)
CLEAN_RGB = np.array([49, 104, 180], dtype=np.float64)  # vulnerable, not yet infected
INFECTED_RGB = np.array([230, 57, 38], dtype=np.float64)


@lru_cache(maxsize=2)
def hilbert_xy(order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every index d along a Hilbert curve filling a 2^order square (vectorised d2xy)."""
    n = 1 << order
    d = np.arange(n * n, dtype=np.int64)
    x = np.zeros_like(d)
    y = np.zeros_like(d)
    t = d.copy()
    s = 1
    while s < n:
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        # rotate the quadrant when ry == 0
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        x = x + s * rx
        y = y + s * ry
        t //= 4
        s *= 2
    return x, y


def utc(t: Any):
    """A pandas Timestamp in UTC (a naive time is taken as UTC)."""
    import pandas as pd

    stamp = pd.Timestamp(t)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def block_of(address: np.ndarray, address_bits: int = 32) -> np.ndarray:
    """The map block (0..65535) of each address: its /16 in a 32-bit space, a 1/65536 slice otherwise."""
    a = np.asarray(address, dtype=np.uint64)
    if address_bits >= 16:
        return (a >> np.uint64(address_bits - 16)).astype(np.int64)
    return (a << np.uint64(16 - address_bits)).astype(np.int64)


def block_counts(hosts: Any, at: Any | None = None, address_bits: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Vulnerable hosts and hosts ever infected by ``at`` (UTC; None = end of run), per block."""
    import pandas as pd

    blocks = block_of(hosts["address"].to_numpy(), address_bits)
    vulnerable = np.bincount(blocks, minlength=SIDE * SIDE)
    infected_at = pd.to_datetime(hosts["infected_at"], utc=True)
    mask = infected_at.notna().to_numpy().copy()
    if at is not None:
        mask &= (infected_at <= utc(at)).fillna(False).to_numpy()
    infected = np.bincount(blocks[mask], minlength=SIDE * SIDE)
    return vulnerable, infected


def grid(values: np.ndarray) -> np.ndarray:
    """Lay 65,536 per-block values out as a 256×256 image (row = y, column = x)."""
    x, y = hilbert_xy(8)
    img = np.zeros((SIDE, SIDE), dtype=np.asarray(values).dtype)
    img[y, x] = values
    return img


def map_rgb(vulnerable: np.ndarray, infected: np.ndarray) -> np.ndarray:
    """A 256×256×3 uint8 image: brightness from vulnerable density, hue from infected share."""
    v = vulnerable.astype(np.float64)
    share = np.divide(infected, v, out=np.zeros_like(v), where=v > 0)
    top = max(float(v.max()), 2.0)
    bright = np.where(v > 0, 0.35 + 0.65 * np.log1p(v) / np.log1p(top), 0.0)
    colour = (CLEAN_RGB[None, :] * (1 - share[:, None]) + INFECTED_RGB[None, :] * share[:, None])
    colour = colour * bright[:, None] + EMPTY_RGB[None, :] * (v == 0)[:, None]
    rgb = np.clip(colour, 0, 255).astype(np.uint8)
    x, y = hilbert_xy(8)
    img = np.zeros((SIDE, SIDE, 3), dtype=np.uint8)
    img[y, x] = rgb
    return img


def slash8_centres() -> dict[int, tuple[float, float]]:
    """Pixel centre of each /8 square (for labels): a /8 is 256 consecutive blocks, a 16×16 square."""
    x, y = hilbert_xy(8)
    return {k: (float(x[k * 256:(k + 1) * 256].mean()), float(y[k * 256:(k + 1) * 256].mean()))
            for k in range(256)}


def map_png_bytes(hosts: Any, at: Any | None, address_bits: int = 32, scale: int = 2,
                  caption: str = "") -> bytes:
    """The map as PNG bytes (nearest-neighbour enlarged ``scale`` times), for the dashboard."""
    import io

    from PIL import Image, ImageDraw

    img = Image.fromarray(map_rgb(*block_counts(hosts, at, address_bits)), "RGB")
    img = img.resize((SIDE * scale, SIDE * scale), Image.NEAREST)
    if caption:
        ImageDraw.Draw(img).text((6, 4), caption, fill=(235, 235, 235))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def save_map_animation(hosts: Any, times: list[Any], path: str, address_bits: int = 32,
                       scale: int = 2, frame_ms: int = 150) -> int:
    """Write an animated GIF of the map at each UTC time in ``times``; returns the frame count."""
    from PIL import Image, ImageDraw

    frames = []
    for t in times:
        vulnerable, infected = block_counts(hosts, t, address_bits)
        img = Image.fromarray(map_rgb(vulnerable, infected), "RGB")
        img = img.resize((SIDE * scale, SIDE * scale), Image.NEAREST)
        stamp = utc(t)
        ImageDraw.Draw(img).text(
            (6, 4), f"{stamp:%Y-%m-%d %H:%M} UTC  infected {int(infected.sum()):,}", fill=(240, 240, 240))
        frames.append(img.convert("P", palette=Image.ADAPTIVE, colors=64))
    if not frames:
        from wormlab.errors import InputError

        raise InputError("no times to animate")
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:],
                   duration=frame_ms, loop=0)
    return len(frames)
