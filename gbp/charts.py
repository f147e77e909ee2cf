"""Server-rendered SVG line charts: no JavaScript, no library, readable without a click."""

from django.utils.html import escape
from django.utils.safestring import mark_safe

COLORS = ["#0969da", "#1a7f37", "#bf8700", "#cf222e", "#8250df"]


def line_chart(days, series: dict[str, list[int]], *, width=720, height=220, title="") -> str:
    """`series` maps a label to one value per day in `days`."""
    left, right, top, bottom = 44, 12, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(values, default=0) for values in series.values()] + [1])
    step = plot_w / max(1, len(days) - 1)

    def x(i):
        return left + i * step

    def y(v):
        return top + plot_h - v / peak * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(title)}</title>',
    ]
    for fraction in (0, 0.5, 1):  # grid lines with their value
        gy = y(peak * fraction)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{gy:.1f}" y2="{gy:.1f}" '
                     'stroke="#d1d9e0" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#59636e">{round(peak * fraction)}</text>')
    if days:
        ticks = ((0, "start"), (len(days) // 2, "middle"), (len(days) - 1, "end"))
        for i, anchor in ticks:
            parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="{anchor}" '
                         f'font-size="11" fill="#59636e">{days[i]:%b %d}</text>')
    for n, (label, values) in enumerate(series.items()):
        color = COLORS[n % len(COLORS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline class="series" data-label="{escape(label)}" fill="none" '
                     f'stroke="{color}" stroke-width="2" points="{points}"/>')
        lx = left + n * 150
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{lx + 14}" y="{height - 5}" font-size="12" fill="#1f2328">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
