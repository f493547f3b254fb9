"""Line plots drawn with Pillow: what fitness.png needs, without importing matplotlib.

Every run ends by drawing its fitness plot, and importing matplotlib's Figure took 0.35 s
of CPU of a 2 s dpnv command (drawing and saving 0.1 s more); Pillow, which matplotlib
itself depends on, imports and draws this in about 0.03 s. Text uses matplotlib's own
DejaVu Sans when it is found (located without importing matplotlib), else Pillow's font.
Drawn at twice the size and scaled down, so that lines and text are smooth.
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np

SCALE = 2                                   # supersampling
# matplotlib's default colours (tab10), as RGB
COLORS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189))


def _font(size: int):
    from PIL import ImageFont
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin is not None:
        ttf = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if ttf.is_file():
            return ImageFont.truetype(str(ttf), size)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:                       # Pillow before 10.1: one bitmap size
        return ImageFont.load_default()


def nice_ticks(lo: float, hi: float, n: int = 8) -> np.ndarray:
    """About n round tick values (steps of 1, 2, 2.5 or 5 x 10^k) covering [lo, hi]."""
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.where(np.abs(ticks) < step * 1e-9, 0.0, ticks)


def tick_label(v: float, step: float) -> str:
    """A tick value with as many decimals as its step needs."""
    if v != 0 and (abs(v) >= 1e6 or abs(step) < 1e-4):
        return f"{v:.3g}"
    decimals = next(d for d in range(9) if abs(round(step, d) - step) <= abs(step) * 1e-6 or d == 8)
    return f"{v:.{decimals}f}"


def _range(series) -> tuple[float, float, float, float]:
    xs = [np.asarray(x, float) for x, _, _ in series]
    ys = [np.asarray(y, float) for _, y, _ in series]
    fin_x = np.concatenate([x[np.isfinite(x) & np.isfinite(y)] for x, y in zip(xs, ys)] or [[]])
    fin_y = np.concatenate([y[np.isfinite(x) & np.isfinite(y)] for x, y in zip(xs, ys)] or [[]])
    out = []
    for v in (fin_x, fin_y):
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
        if hi == lo:
            lo, hi = lo - max(abs(lo) * 0.1, 0.5), hi + max(abs(hi) * 0.1, 0.5)
        pad = 0.05 * (hi - lo)
        out += [lo - pad, hi + pad]
    return tuple(out)


def line_plot(path: Path, series, title: str, xlabel: str, ylabel: str,
              size: tuple[int, int] = (700, 400)) -> None:
    """Write a PNG of the series [(x, y, (label, width, alpha)), ...]: lines in matplotlib's
    colours over a grid, non-finite points left out (the line breaks there), a legend in the
    corner with the fewest points."""
    from PIL import Image, ImageDraw
    W, H = size[0] * SCALE, size[1] * SCALE
    img = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(img)
    font, title_font = _font(10 * SCALE), _font(12 * SCALE)
    left, right, top, bottom = 78 * SCALE, W - 15 * SCALE, 32 * SCALE, H - 48 * SCALE
    x0, x1, y0, y1 = _range(series)

    def px(x, y):
        return (left + (np.asarray(x) - x0) / (x1 - x0) * (right - left),
                bottom - (np.asarray(y) - y0) / (y1 - y0) * (bottom - top))

    grid, ink = (230, 230, 230), (0, 0, 0)
    for axis, (lo, hi) in (("x", (x0, x1)), ("y", (y0, y1))):
        ticks = nice_ticks(lo, hi)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        for t in ticks:
            label = tick_label(float(t), float(step))
            if axis == "x":
                p = float(px(t, y0)[0])
                draw.line([(p, top), (p, bottom)], fill=grid, width=SCALE)
                draw.line([(p, bottom), (p, bottom + 4 * SCALE)], fill=ink, width=SCALE)
                draw.text((p, bottom + 6 * SCALE), label, fill=ink, font=font, anchor="mt")
            else:
                p = float(px(x0, t)[1])
                draw.line([(left, p), (right, p)], fill=grid, width=SCALE)
                draw.line([(left - 4 * SCALE, p), (left, p)], fill=ink, width=SCALE)
                draw.text((left - 6 * SCALE, p), label, fill=ink, font=font, anchor="rm")
    counts = np.zeros(4)                    # points in the upper left, upper right, ... quarter
    for k, (x, y, (label, width, alpha)) in enumerate(series):
        x, y = np.asarray(x, float), np.asarray(y, float)
        ok = np.isfinite(x) & np.isfinite(y)
        X, Y = px(np.where(ok, x, x0), np.where(ok, y, y0))
        color = tuple(int(round(alpha * c + (1 - alpha) * 255)) for c in COLORS[k % len(COLORS)])
        # runs of finite points, each one polyline
        edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(int), 0]))
        for a, b in zip(edges[::2], edges[1::2]):
            pts = list(zip(X[a:b].tolist(), Y[a:b].tolist()))
            if len(pts) == 1:
                pts = pts * 2
            draw.line(pts, fill=color, width=max(1, round(width * 1.4 * SCALE)), joint="curve")
        mx, my = (left + right) / 2, (top + bottom) / 2
        counts += np.bincount(2 * (Y[ok] > my) + (X[ok] > mx), minlength=4)
    draw.rectangle([left, top, right, bottom], outline=ink, width=SCALE)
    draw.text(((left + right) / 2, top - 8 * SCALE), title, fill=ink, font=title_font, anchor="md")
    draw.text(((left + right) / 2, H - 8 * SCALE), xlabel, fill=ink, font=font, anchor="md")
    _vertical_text(img, ylabel, font, (20 * SCALE, (top + bottom) / 2))
    if series:
        _legend(draw, series, font, int(np.argmin(counts)), (left, top, right, bottom))
    img.resize(size, Image.LANCZOS).save(path, format="PNG")


def _vertical_text(img, text: str, font, centre) -> None:
    from PIL import Image, ImageDraw
    box = ImageDraw.Draw(img).textbbox((0, 0), text, font=font)
    label = Image.new("L", (box[2] + 4, box[3] + 4), 0)
    ImageDraw.Draw(label).text((2, 2), text, fill=255, font=font)
    label = label.rotate(90, expand=True)
    img.paste((0, 0, 0), (int(centre[0]), int(centre[1] - label.size[1] / 2)), label)


def _legend(draw, series, font, corner: int, frame) -> None:
    left, top, right, bottom = frame
    pad, line, gap = 6 * SCALE, 22 * SCALE, 6 * SCALE
    rows = [label for _, _, (label, _, _) in series]
    height = max(draw.textbbox((0, 0), "Ag", font=font)[3], 1) + 4 * SCALE
    width = max(draw.textbbox((0, 0), r, font=font)[2] for r in rows) + line + gap + 2 * pad
    total = len(rows) * height + 2 * pad
    x = left + pad if corner % 2 == 0 else right - pad - width
    y = top + pad if corner < 2 else bottom - pad - total
    draw.rounded_rectangle([x, y, x + width, y + total], radius=3 * SCALE, fill="white",
                           outline=(204, 204, 204), width=SCALE)
    for k, (_, _, (label, lw, alpha)) in enumerate(series):
        cy = y + pad + (k + 0.5) * height
        color = tuple(int(round(alpha * c + (1 - alpha) * 255)) for c in COLORS[k % len(COLORS)])
        draw.line([(x + pad, cy), (x + pad + line, cy)], fill=color, width=max(1, round(lw * 1.4 * SCALE)))
        draw.text((x + pad + line + gap, cy), label, fill=(0, 0, 0), font=font, anchor="lm")
