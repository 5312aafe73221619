"""The detail view (issue 14, "the detail view as traders know it"): five levels
of ask and bid, the average-price line and a percent axis, amplitude, turnover
rate and volume ratio (or why not), the indicative price in the opening
auction, amounts in 万/亿 and volumes in 手, HK amounts in HKD."""

from __future__ import annotations

import re
from pathlib import Path

from rich.cells import cell_len

from .conftest import demo_app, ready, settle

SIZE = (160, 48)


def one_list(home: Path, *symbols: str) -> Path:
    path = home / "one.toml"
    path.write_text(f'name = "One"\nsymbols = {list(symbols)!r}\n'.replace("'", '"'), encoding="utf-8")
    return path


def drawn(app) -> list[str]:
    return app.detail.render().plain.splitlines()


async def test_five_levels_average_and_figures_at_1030(home):
    app = demo_app("10:30", lists=[one_list(home, "600519.SH")])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, "10:30")
        await pilot.press("enter")  # the chart of the selected row, full screen
        await pilot.pause(0.3)
        lines = drawn(app)
        text = "\n".join(lines)
        q = app.store.quote("600519.SH")
        asks = [re.search(rf"Ask{n}\s+([\d,.]+)", text) for n in range(5, 0, -1)]
        bids = [re.search(rf"Bid{n}\s+([\d,.]+)", text) for n in range(1, 6)]
        assert all(asks) and all(bids), text
        prices = [float(m.group(1).replace(",", "")) for m in asks + bids]
        assert prices == sorted(prices, reverse=True) and len(set(prices)) == 10  # ask 5 on top, bid 5 at the bottom
        assert prices[4] == q["ask"] and prices[5] == q["bid"]
        avg = q["turnover"] / q["volume"]
        assert f"Avg price{'':>6}{avg:,.2f}".replace(" ", "") in text.replace(" ", "")
        amplitude = (q["high"] - q["low"]) / q["prev_close"] * 100
        assert re.search(rf"Amplitude\s+{amplitude:.2f}%", text)
        assert re.search(rf"Turnover\s+{q['volume'] / q['float_shares'] * 100:.2f}%", text)
        assert re.search(r"Vol ratio\s+\d+\.\d\d", text)
        # the percent axis beside the price axis: the previous close is +0.00 %, the top row is up
        base_row = next(line for line in lines if "┄" in line)
        assert "1,509.00" in base_row and "+0.00%" in base_row
        assert re.search(r"^\s*1,5\d\d\.\d\d .*\+\d\.\d\d%", lines[1])
        # the average-price line is drawn in its own tone
        avg_style = app.detail.tone("avg")
        assert any(span.style == avg_style for span in app.detail.render().spans)


async def test_u_shows_wan_yi_and_shou_and_hk_amounts_say_hkd(home):
    app = demo_app("10:30", start="10:30", lists=[one_list(home, "600519.SH", "00700.HK")])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "10:30")
        await pilot.press("enter")
        await pilot.pause(0.3)
        header = drawn(app)[0]
        assert re.search(r"Amt \d+\.\d\dB", header) and "HKD" not in header
        await pilot.press("U")
        await pilot.pause(0.5)
        header = drawn(app)[0]
        assert re.search(r"Vol \d+(\.\d\d万)?手", header) and re.search(r"Amt \d+\.\d\d亿", header), header
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.5)
        width = app.detail.size.width
        assert width <= 80 and all(cell_len(line) <= width for line in drawn(app))  # 万/亿/手: two cells each
        await pilot.resize_terminal(*SIZE)
        await pilot.pause(0.5)
        await pilot.press("escape")
        await pilot.pause(0.5)
        assert re.search(r"\d(亿|万)$", app.watchlists.table.get_cell("600519.SH", "turnover").plain.strip())
        await pilot.press("j")
        await pilot.press("enter")
        await pilot.pause(0.5)
        header = drawn(app)[0]
        assert header.startswith("00700.HK") and re.search(r"Amt \d+\.\d\d亿 HKD", header), header
        assert re.search(r"Vol \d+(\.\d\d万)?股", header), header


async def test_the_opening_auction_shows_the_indicative_price_and_matched_volume(home):
    app = demo_app("09:20", lists=[one_list(home, "688521.SH")])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, "09:20")
        await pilot.press("enter")
        await pilot.pause(0.3)
        q = app.store.quote("688521.SH")
        assert app.store.phases["CN"] == "call_auction" and q["last"] is None and q["bid"] == q["ask"] > 0
        header = drawn(app)[0]
        assert f"Indicative {q['bid']:,.2f}" in header and "matched" in header, header
        assert " - " not in header.split("Indicative")[1].split("Vol")[0]
        text = "\n".join(drawn(app))
        assert re.search(rf"Ask1\s+{q['ask']:,.2f}", text) and re.search(rf"Bid1\s+{q['bid']:,.2f}", text)
        assert "Ask2" in text and re.search(r"Ask2\s+-", text)  # an auction shows the match, not a book


async def test_the_book_keeps_its_wan_unit_in_the_side_column(home):
    # 万 takes two cells: padded by characters, "5.90万" pushed the book one cell past its column.
    app = demo_app("10:30", start="10:30", lists=[one_list(home, "09988.HK")])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, "10:30")
        await pilot.press("U", "enter")
        await pilot.pause(0.5)
        lines = drawn(app)
        book = [line for line in lines if re.search(r"(Ask|Bid)\d ", line)]
        assert len(book) == 10, lines
        big = [line for line in book if re.search(r"(Ask|Bid)\d\s+[\d,.]+\s+\d+\.\d+万$", line)]
        assert big, book  # the demo's HK book has levels of more than 10,000 shares
        for line in book:
            figures = line.split("Ask" if "Ask" in line else "Bid")[1].split()
            assert len(figures) == 3 and figures[2][-1] in "0123456789万", line  # the unit whole
        assert all(cell_len(line) <= app.detail.size.width for line in lines)
