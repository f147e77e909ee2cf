"""Server-rendered SVG line charts: no JavaScript, no library, readable without a click.

A chart is drawn about as wide as it shows (400 units for a card column of 300 to 400 px), so
its labels stay near their nominal 13 units on a phone (390 px: about 10 px) and on a desktop;
the stylesheet keeps it within its card. Days are written in the active language's format
and numbers in its format ("March 5", "1,500"; "5. März", "1.500"); titles and series labels
are the caller's words.
"""

from django.utils.formats import date_format, number_format
from django.utils.html import escape
from django.utils.safestring import mark_safe

COLORS = ["#0969da", "#1a7f37", "#bf8700", "#cf222e", "#8250df"]
FONT = 13
CHAR = FONT * 0.6  # a generous average glyph width, to place labels without measuring them


def grouped(value: int) -> str:
    """A count in the active language's format, thousands grouped ("1,500", "1.500"): the GBP
    pages', progress's and summaries' one way of writing a count."""
    return number_format(value, force_grouping=True)


def _legend_rows(labels, left, right_edge):
    """Legend entries as rows of (x, label): a swatch, the label, then the next entry; an entry
    that would cross the right edge starts a new row."""
    rows, x = [[]], left
    for label in labels:
        width = 14 + len(label) * CHAR + 14
        if rows[-1] and x + width > right_edge:
            rows.append([])
            x = left
        rows[-1].append((x, label))
        x += width
    return rows


def line_chart(days, series: dict[str, list[int]], *, width=400, height=None, title="") -> str:
    """`series` maps a label to one value per day in `days`."""
    peak = max([max(values, default=0) for values in series.values()] + [1])
    left, right, top = max(28, 10 + len(grouped(peak)) * CHAR), 12, 14
    legend = _legend_rows(list(series), 8, width - right)
    bottom = 26 + 18 * len(legend)  # the day labels, then the legend rows
    height = height or 150 + bottom
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(days) - 1)

    def x(i):
        return left + i * step

    def y(v):
        return top + plot_h - v / peak * plot_h

    parts = [
        # width and height: the nominal size wherever the stylesheet is missing (an <svg> with
        # only a viewBox takes its container's whole width); the stylesheet fits it to its column.
        f'<svg class="chart" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title>{escape(title)}</title>',
    ]
    for fraction in (0, 0.5, 1):  # grid lines with their value
        gy = y(peak * fraction)
        parts.append(f'<line x1="{left:.0f}" x2="{width - right}" y1="{gy:.1f}" y2="{gy:.1f}" '
                     'stroke="#d1d9e0" stroke-width="1"/>')
        parts.append(f'<text class="axis" x="{left - 5:.0f}" y="{gy + 4:.1f}" text-anchor="end" '
                     f'font-size="{FONT}" fill="#59636e">{grouped(round(peak * fraction))}</text>')
    if days:
        ticks = ((0, "start"), (len(days) // 2, "middle"), (len(days) - 1, "end"))
        for i, anchor in ticks:
            parts.append(f'<text class="axis" x="{x(i):.1f}" y="{top + plot_h + 18:.1f}" '
                         f'text-anchor="{anchor}" font-size="{FONT}" fill="#59636e">'
                         f'{escape(date_format(days[i], "MONTH_DAY_FORMAT"))}</text>')
    colors = {label: COLORS[n % len(COLORS)] for n, label in enumerate(series)}
    for label, values in series.items():
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline class="series" data-label="{escape(label)}" fill="none" '
                     f'stroke="{colors[label]}" stroke-width="2" points="{points}"/>')
    for row, entries in enumerate(legend):
        ly = top + plot_h + 26 + 18 * row
        for lx, label in entries:
            parts.append(f'<rect x="{lx:.0f}" y="{ly + 2:.0f}" width="10" height="10" '
                         f'fill="{colors[label]}"/>')
            parts.append(f'<text class="legend" x="{lx + 14:.0f}" y="{ly + 12:.0f}" '
                         f'font-size="{FONT}" fill="#1f2328">{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def sparkline(values, *, width=96, height=24, label="") -> str:
    """A small trend line for a table row: no axes, its own scale, the last value dotted."""
    peak = max(values + [1]) if values else 1
    step = (width - 4) / max(1, len(values) - 1)
    points = [(2 + i * step, height - 2 - v / peak * (height - 4)) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dot = (f'<circle cx="{points[-1][0]:.1f}" cy="{points[-1][1]:.1f}" r="2" fill="{COLORS[0]}"/>'
           if points else "")
    return mark_safe(
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f'<polyline fill="none" stroke="{COLORS[0]}" stroke-width="1.5" points="{line}"/>{dot}'
        f'</svg>')
