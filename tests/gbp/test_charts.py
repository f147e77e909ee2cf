"""The chart's <svg> carries its nominal size, so it is drawn at about 400×190 without any CSS
(a host whose layout does not link the product's stylesheet), never across the whole page."""

import re
from datetime import date, timedelta

from gbp.charts import line_chart


def test_it_gives_the_chart_a_width_and_height_of_its_own():
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(30)]
    svg = line_chart(days, {"Calls": list(range(30)), "Website clicks": [3] * 30}, title="Actions")
    tag = re.match(r"<svg [^>]*>", svg).group(0)
    width, height = (int(re.search(rf' {name}="(\d+)"', tag)[1]) for name in ("width", "height"))
    assert (width, height) == (400, 194)
    assert f'viewBox="0 0 {width} {height}"' in tag
