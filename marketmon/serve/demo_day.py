"""The seed day: a deterministic replay of Friday 2025-09-12 (GUIDE section 2).

The session is built from the market recap of that day (`seeds/000_*.txt`):
every figure the recap states (closing changes, intraday highs, turnovers,
limit hits, Southbound streaks) comes out exact at the close; everything the
recap leaves open (previous closes, intraday paths, order books) is made up to
be plausible, and is the same on every run.

How a price path is made: each instrument has key points (open, intraday
highs and lows at set times, close), all in percent of the previous close and
rounded to a valid price. Between key points the path is linear in *trading*
time (it does not move over lunch) plus a small mean-reverting noise that
fades to zero at each key point, is clamped to the day's high/low and never
touches a price limit on its own; so the key points alone decide the day's
open, high, low, close and every limit touch. Volume and turnover follow a
U-shaped intraday profile that is normalised to hit the day's totals exactly.

Time runs in 3-second steps from 09:00:00 (step 0) to 16:10:00 (step 8600).
Every instrument draws from its own `random.Random`, seeded from its symbol,
so the events do not depend on the order in which streams are consumed.
"""

from __future__ import annotations

import heapq
import math
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from random import Random
from typing import Any

from marketmon.market.calendars import is_southbound_day
from marketmon.serve.demo_names import names_of
from marketmon.serve.script import Event

TRADE_DATE = "2025-09-12"
TZ = "Asia/Shanghai"
SEED = 20250912
STEP_MS = 3_000
T0_MS = 1_757_638_800_000  # 2025-09-12 09:00:00 +08:00 = step 0
HKD_CNY = 0.9128  # HKD -> CNY rate used for the Southbound quota balance
SOUTHBOUND_QUOTA_CNY = 42e9  # daily quota per channel
LOT = 100  # volumes move in multiples of 100 shares
BOOK_EVERY = 10  # steps (30 s) between two sends of an instrument's five book levels


def step_of(hhmm: str) -> int:
    """Step number of a local time "HH:MM" or "HH:MM:SS" on the trade date."""
    h, m, *s = (int(x) for x in hhmm.split(":"))
    seconds = (h - 9) * 3600 + m * 60 + (s[0] if s else 0)
    assert seconds % 3 == 0 and seconds >= 0, hhmm
    return seconds // 3


def ts_of(step: int) -> int:
    return T0_MS + step * STEP_MS


# Session boundaries, as steps.
CN_CALL = step_of("09:15")
CN_OPEN = step_of("09:25")  # the opening auction prints
AM_START = step_of("09:30")
CN_AM_END = step_of("11:30")
PM_START = step_of("13:00")
CN_CLOSE_CALL = step_of("14:57")
CN_CLOSE = step_of("15:00")
HK_OPEN = step_of("09:20")
HK_AM_END = step_of("12:00")
HK_CLOSE_CALL = step_of("16:00")
HK_CLOSE_EARLIEST = step_of("16:08")  # the closing auction ends at random 16:08-16:10
LAST_STEP = step_of("16:10")

CN_PHASES = (
    ("09:00", "pre_open"), ("09:15", "call_auction"), ("09:25", "pre_open"), ("09:30", "continuous"),
    ("11:30", "lunch_break"), ("13:00", "continuous"), ("14:57", "closing_auction"), ("15:00", "closed"),
)
HK_PHASES = (
    ("09:00", "call_auction"), ("09:30", "continuous"), ("12:00", "lunch_break"),
    ("13:00", "continuous"), ("16:00", "closing_auction"), ("16:10", "closed"),
)


# --------------------------------------------------------------------------------------------
# The instruments


@dataclass(frozen=True, slots=True)
class Inst:
    """One instrument of the day. Percentages are of the previous close."""

    symbol: str
    name: str
    kind: str  # "stock", "etf", "index"
    prev: str  # previous close, exact decimal text
    open: float  # percent
    close: float  # percent
    marks: tuple[tuple[str, float], ...] = ()  # (HH:MM, percent) during continuous trading
    turnover: int = 0  # day total in the quote currency
    seal: tuple[str, str] | None = None  # sealed at a limit from .. to (inclusive; "15:00" = to the close)
    seal_size: tuple[int, int] = (0, 0)  # shares queued at the limit, at the start and end of the seal
    seal_dip: tuple[str, str, float] | None = None  # from .. to, the queue falls to this share (封单骤减)
    limit_days: int = 0  # consecutive limit-up closes before today (the snapshot's `limit_days`)
    limit_down_days: int = 0
    st: bool = False
    vol: float = 0.25  # noise, percent (stationary standard deviation)
    activity: float = 0.6  # chance of a trade in a 3-second step
    premium: tuple[float, float] = (-0.25, 0.25)  # ETFs: range of (last - iopv) / iopv, percent

    @property
    def hk(self) -> bool:
        return self.symbol.endswith(".HK")

    @property
    def currency(self) -> str:
        return "HKD" if self.hk else "CNY"


def _index(symbol, name, prev, open, close, marks, turnover):
    return Inst(symbol, name, "index", prev, open, close, marks, turnover, vol=0.06, activity=0.8)


def _stock(symbol, name, prev, open, close, marks, turnover, **kw):
    return Inst(symbol, name, "stock", prev, open, close, marks, turnover, **kw)


def _etf(symbol, name, prev, open, close, marks, turnover, **kw):
    kw.setdefault("vol", 0.12)
    kw.setdefault("activity", 0.4)
    return Inst(symbol, name, "etf", prev, open, close, marks, turnover, **kw)


INSTRUMENTS: tuple[Inst, ...] = (
    # Indices. A-share turnover of the day = 000001.SH + 399106.SZ + 899050.BJ = 2.55 trillion CNY.
    _index("000001.SH", "SSE Composite", "3875.31", 0.05, -0.12,
           (("09:52", 0.34), ("11:10", 0.02), ("13:48", -0.41), ("14:35", -0.08)), 1_087_600_000_000),
    _index("399001.SZ", "SZSE Component", "12979.89", 0.08, -0.43,
           (("09:45", 0.31), ("13:55", -0.78)), 905_400_000_000),
    _index("399006.SZ", "ChiNext", "3053.75", 0.12, -1.00,
           (("09:41", 0.47), ("11:00", -0.35), ("14:02", -1.42)), 651_300_000_000),
    _index("000688.SH", "STAR 50", "1341.28", 0.41, 0.88,
           (("10:22", 2.14), ("13:30", 0.95), ("14:10", 0.52)), 108_400_000_000),
    _index("000300.SH", "CSI 300", "4533.26", 0.09, -0.34,
           (("09:50", 0.36), ("13:52", -0.61)), 598_300_000_000),
    _index("399106.SZ", "SZSE Composite", "2471.52", 0.07, -0.38,
           (("09:46", 0.29), ("13:54", -0.73)), 1_431_200_000_000),
    _index("899050.BJ", "BSE 50", "1552.84", 0.18, 0.72,
           (("10:40", 1.35), ("13:20", 0.21)), 31_200_000_000),
    # HSI closes on its day high (the recap's "new phase high").
    _index("HSI.HK", "Hang Seng", "26086.32", 0.35, 1.157,
           (("09:34", 0.12), ("10:40", 0.83), ("11:45", 0.64), ("14:05", 1.04), ("15:20", 0.93)),
           289_600_000_000),
    _index("HSTECH.HK", "Hang Seng TECH", "5858.31", 0.52, 1.62,
           (("10:35", 2.11), ("13:30", 1.21)), 118_700_000_000),
    # Domestic AI and chips: Cambricon tops A-share turnover, VeriSilicon seals +20 % in the afternoon.
    _stock("688256.SH", "Cambricon", "1352.00", 2.36, 7.42,
           (("09:34", 1.88), ("10:38", 9.84), ("13:25", 6.12), ("14:20", 8.05)), 28_695_000_000, vol=0.35),
    _stock("688521.SH", "VeriSilicon", "128.66", 3.05, 20.0,
           (("09:47", 1.42), ("10:45", 6.60), ("11:20", 5.10), ("13:20", 9.30), ("13:36", 16.80), ("13:42", 20.0)),
           6_870_000_000, seal=("13:42", "15:00"), seal_size=(650_000, 2_400_000), vol=0.4,
           seal_dip=("14:30", "14:36", 0.4), limit_days=1),
    # Sugon seals +10 % in the morning and the seal breaks (炸板) before lunch; it closes below.
    _stock("603019.SH", "Sugon", "77.43", 2.12, 6.21,
           (("09:36", 1.64), ("09:58", 7.90), ("10:05", 10.0), ("10:48", 10.0), ("11:06", 7.35),
            ("13:40", 5.10), ("14:30", 6.55)),
           14_260_000_000, seal=("10:05", "10:48"), seal_size=(1_800_000, 30_000), vol=0.35, limit_days=2),
    _stock("688327.SH", "CloudWalk", "43.18", 1.20, 3.48, (("10:12", 5.8), ("13:15", 2.4)), 2_940_000_000,
           limit_days=1),
    _stock("688107.SH", "Anlogic", "51.27", 0.60, 2.13, (("09:40", -0.8), ("10:30", 4.1)), 1_150_000_000),
    _stock("688208.SH", "Autel", "34.66", 0.30, 1.59, (("10:25", 3.2), ("14:00", 0.4)), 720_000_000),
    _stock("688981.SH", "SMIC", "107.30", 1.10, 1.92, (("10:30", 4.25), ("14:05", 1.2)), 13_210_000_000),
    _stock("688041.SH", "Hygon", "243.50", 1.50, 2.81, (("10:20", 5.3), ("13:40", 2.1)), 9_640_000_000),
    _stock("000977.SZ", "Inspur", "56.20", 0.90, 1.34, (("10:01", 4.6), ("14:15", 0.7)), 8_270_000_000),
    _stock("300308.SZ", "Zhongji Innolight", "318.00", 0.40, -2.91, (("09:38", 1.1), ("13:50", -4.2)),
           19_830_000_000),
    _stock("300502.SZ", "Eoptolink", "312.50", 0.20, -3.62, (("09:35", 0.9), ("14:10", -4.8)), 17_120_000_000),
    _stock("688012.SH", "AMEC", "205.10", 0.80, 1.52, (("10:35", 3.4), ("13:45", 0.2)), 4_080_000_000),
    _stock("603986.SH", "GigaDevice", "188.50", 1.20, 3.11, (("10:45", 5.2), ("13:35", 2.2)), 7_930_000_000),
    _stock("002371.SZ", "NAURA", "418.00", 0.70, 1.21, (("10:25", 3.1), ("14:05", 0.4)), 5_410_000_000),
    _stock("601138.SH", "Foxconn Industrial", "61.20", 0.10, -2.42, (("09:36", 0.6), ("14:10", -3.3)),
           9_050_000_000),
    _stock("000063.SZ", "ZTE", "45.10", 0.40, 0.80, (("10:10", 2.2), ("14:00", 0.1)), 6_720_000_000),
    _stock("002415.SZ", "Hikvision", "31.50", 0.10, 0.41, (("10:00", 1.0), ("13:45", -0.3)), 1_510_000_000),
    # Big caps.
    _stock("600519.SH", "Kweichow Moutai", "1509.00", 0.10, -0.41, (("09:45", 0.45), ("14:00", -0.72)),
           4_620_000_000, vol=0.12),
    _stock("000001.SZ", "Ping An Bank", "11.78", 0.0, -0.25, (("10:00", 0.34), ("13:30", -0.51)),
           1_180_000_000, vol=0.1),
    _stock("300750.SZ", "CATL", "307.25", 0.30, -1.71, (("09:42", 0.8), ("14:05", -2.2)), 9_310_000_000),
    _stock("002594.SZ", "BYD", "106.40", 0.20, -0.92, (("09:50", 0.7), ("13:40", -1.4)), 5_230_000_000),
    _stock("601318.SH", "Ping An", "56.36", 0.10, -0.50, (("09:55", 0.5), ("14:00", -0.8)), 3_120_000_000),
    _stock("300059.SZ", "East Money", "27.85", 0.40, -1.83, (("09:40", 1.0), ("14:20", -2.4)), 11_640_000_000),
    _stock("600030.SH", "CITIC Securities", "30.12", 0.20, -0.80, (("09:40", 0.6), ("14:00", -1.3)),
           5_860_000_000),
    _stock("600036.SH", "China Merchants Bank", "43.16", 0.0, -0.30, (("09:50", 0.4), ("13:40", -0.6)),
           2_240_000_000, vol=0.1),
    # Cyclicals and real estate come back.
    _stock("601899.SH", "Zijin Mining", "24.38", 0.80, 2.09, (("10:30", 3.1), ("13:20", 1.4)), 6_530_000_000),
    _stock("600048.SH", "Poly Developments", "8.62", 0.50, 1.39, (("10:30", 2.4), ("13:20", 0.8)), 1_930_000_000),
    _stock("001979.SZ", "China Merchants Shekou", "10.20", 0.60, 1.76, (("10:40", 2.9), ("13:15", 1.0)),
           1_120_000_000),
    # Innovative drugs rebound.
    _stock("600276.SH", "Hengrui", "67.12", 0.90, 2.31, (("10:15", 3.3), ("13:10", 1.5)), 4_910_000_000),
    _stock("688235.SH", "BeiGene", "292.00", 1.00, 2.60, (("10:40", 3.6), ("13:30", 1.4)), 2_380_000_000),
    # Risk-warning stock: 5 % band in 2025; touches +5 % once.
    _stock("002602.SZ", "ST 华通", "16.58", 1.30, 2.90,
           (("09:50", 3.2), ("10:15", 5.0), ("11:00", 2.4), ("13:30", 1.2)), 6_180_000_000, st=True),
    # Slides to limit-down in the afternoon and stays sealed there.
    _stock("603880.SH", "南卫股份", "12.46", -2.10, -10.0,
           (("09:45", -0.6), ("11:00", -4.8), ("13:50", -8.3), ("14:20", -10.0)),
           410_000_000, seal=("14:20", "15:00"), seal_size=(900_000, 2_600_000), vol=0.3, activity=0.45,
           limit_down_days=1),
    # Beijing SE: 30 % band, a big day well inside it.
    _stock("920118.BJ", "太湖远大", "38.50", 1.50, 11.82,
           (("09:40", 0.6), ("10:50", 8.2), ("13:50", 16.4), ("14:30", 10.9)), 1_260_000_000, vol=0.5, activity=0.45),
    # ETFs.
    _etf("589520.SH", "AI ETF", "1.456", 0.48, 2.47,
         (("09:36", 0.34), ("09:58", 2.5), ("10:48", 3.78), ("13:30", 1.72), ("14:20", 2.85)), 63_510_000,
         premium=(-0.15, 0.2)),
    _etf("513770.SH", "HK Internet ETF", "0.708", 0.85, 1.13,
         (("10:05", 2.26), ("11:15", 1.55), ("13:40", 0.71), ("14:40", 1.27)), 606_000_000,
         premium=(-0.1, 0.3), activity=0.7),
    _etf("159876.SZ", "Commodity ETF", "1.048", 0.67, 2.29,
         (("10:20", 3.24), ("13:30", 1.91), ("14:30", 2.48)), 87_400_000),
    _etf("159707.SZ", "Real Estate ETF", "0.553", 0.36, 1.27, (("10:35", 1.81), ("13:25", 0.9)), 96_200_000),
    _etf("562050.SH", "Pharma ETF", "1.236", 0.40, 0.73,
         (("10:15", 1.46), ("13:20", 0.32), ("14:30", 0.89)), 41_800_000),
    # Traded at a premium to its IOPV all session.
    _etf("520880.SH", "HK Innovative Drug ETF", "1.473", 0.61, 0.88,
         (("10:25", 1.56), ("13:35", 0.41), ("14:25", 1.02)), 352_600_000, premium=(0.06, 0.62)),
    _etf("510300.SH", "CSI 300 ETF", "4.622", 0.06, -0.32, (("09:50", 0.35), ("13:52", -0.61)), 5_870_000_000,
         activity=0.7),
    _etf("588000.SH", "STAR 50 ETF", "1.385", 0.43, 0.87, (("10:22", 2.1), ("14:10", 0.5)), 2_160_000_000,
         activity=0.7),
    # Hong Kong tech: Alibaba leads.
    _stock("09988.HK", "BABA-W", "149.9", 2.30, 5.40,
           (("09:33", 1.87), ("10:50", 4.6), ("13:45", 6.0), ("14:40", 4.9), ("15:40", 5.6)), 26_480_000_000),
    _stock("00700.HK", "Tencent", "629.0", 0.88, 2.31,
           (("09:40", 0.56), ("11:20", 1.92), ("14:20", 2.72), ("15:10", 2.0)), 21_350_000_000),
    _stock("01024.HK", "Kuaishou-W", "71.20", 0.70, 2.60, (("10:15", 3.1), ("13:40", 1.6)), 3_870_000_000),
    _stock("09626.HK", "Bilibili-W", "189.4", 0.50, 2.43, (("10:30", 3.3), ("13:30", 1.4)), 1_460_000_000),
    _stock("01810.HK", "Xiaomi-W", "51.10", 0.39, 0.88,
           (("09:50", 1.57), ("13:30", -0.29), ("15:00", 0.59)), 12_960_000_000),
    _stock("03690.HK", "Meituan-W", "97.35", 0.41, -0.62, (("10:00", 1.08), ("14:00", -1.23)), 5_740_000_000),
    _stock("09618.HK", "JD-SW", "131.8", 0.50, 1.40, (("10:30", 2.3), ("13:50", 0.6)), 2_210_000_000),
    _stock("09888.HK", "BIDU-SW", "95.10", 1.80, 3.90, (("10:40", 5.9), ("13:30", 2.9)), 3_120_000_000),
    _stock("09999.HK", "NetEase-S", "213.4", 0.30, 0.60, (("10:10", 1.5), ("14:10", -0.4)), 1_720_000_000),
    _stock("00981.HK", "SMIC", "62.85", 1.10, 2.40, (("10:30", 4.7), ("13:40", 1.6)), 8_460_000_000),
    _stock("01347.HK", "Hua Hong Semi", "55.30", 1.30, 3.10, (("10:45", 5.2), ("14:00", 2.0)), 2_910_000_000),
    _stock("00005.HK", "HSBC Holdings", "101.3", 0.20, 0.49, (("10:00", 0.8), ("14:00", 0.1)), 3_410_000_000,
           vol=0.12),
    _stock("00388.HK", "HKEX", "441.0", 0.60, 1.81, (("10:40", 2.6), ("13:30", 1.0)), 3_980_000_000),
    _stock("02318.HK", "Ping An", "54.05", 0.10, -0.19, (("09:50", 0.6), ("14:00", -0.9)), 2_140_000_000),
    _stock("00941.HK", "China Mobile", "86.10", -0.10, -0.29, (("10:10", 0.3), ("14:20", -0.8)), 1_870_000_000,
           vol=0.12),
    _stock("01211.HK", "BYD Company", "108.9", 0.30, -0.73, (("09:45", 0.8), ("14:00", -1.5)), 4_060_000_000),
    # Hong Kong innovative drugs.
    _stock("01228.HK", "Canbridge Pharma", "0.91", 1.10, 6.59, (("10:20", 8.8), ("13:30", 3.3)), 41_600_000,
           vol=0.5, activity=0.35),
    _stock("01177.HK", "Sino Biopharm", "7.42", 0.80, 2.43, (("10:40", 3.5), ("13:30", 1.3)), 1_980_000_000),
    _stock("06160.HK", "BeiGene", "206.0", 0.90, 2.30, (("10:30", 3.4), ("13:40", 1.1)), 1_050_000_000),
    _stock("01093.HK", "CSPC Pharma", "9.86", 0.70, 2.33, (("10:25", 3.4), ("13:45", 1.0)), 2_470_000_000),
    _stock("00013.HK", "HUTCHMED", "23.40", 2.10, 10.47, (("10:50", 7.2), ("13:30", 9.1), ("14:45", 11.8)),
           1_230_000_000, vol=0.4),
)

BY_SYMBOL: dict[str, Inst] = {inst.symbol: inst for inst in INSTRUMENTS}

# The figures of GUIDE section 2 as this replay makes them, read at the close.
# pct = (last - prev_close) / prev_close * 100 rounded half-up to 2 decimals.
# "_above" is a strict lower bound, "_below" a strict upper bound.
ACCEPTANCE: dict[str, dict[str, Any]] = {
    "000001.SH": {"close_pct": -0.12, "high_pct_above": 0.0},
    "399006.SZ": {"close_pct": -1.00},
    "589520.SH": {"high_pct": 3.78, "close_pct": 2.47, "turnover": 63_510_000},
    "688521.SH": {"close_at_limit_up": True, "limit_up": 154.39, "sealed_from": "13:42"},
    "688256.SH": {"close_pct_above": 7.0, "turnover": 28_695_000_000, "top_a_share_turnover": True},
    "688327.SH": {"close_pct_above": 3.0},
    "688107.SH": {"close_pct_above": 0.0},
    "688208.SH": {"close_pct_above": 0.0},
    "HSI.HK": {"close_pct_above": 1.0, "close_at_high": True},
    "09988.HK": {"high_pct": 6.00, "close_pct": 5.40},
    "00700.HK": {"close_pct_above": 2.0},
    "01024.HK": {"close_pct_above": 2.0},
    "09626.HK": {"close_pct_above": 2.0},
    "01810.HK": {"close_pct_above": 0.8, "close_pct_below": 1.0},
    "513770.SH": {"high_pct_above_by_1030": 2.0, "close_pct": 1.13, "turnover": 606_000_000},
    "159876.SZ": {"high_pct_above": 3.0, "close_pct": 2.29},
    "159707.SZ": {"close_pct_above": 1.0},
    "562050.SH": {"high_pct_above": 1.0},
    "520880.SH": {"high_pct_above": 1.0, "premium_all_session": True},
    "603019.SH": {"limit_up": 85.17, "sealed": ("10:05", "10:48"), "close_below_limit": True},
    "603880.SH": {"close_at_limit_down": True, "limit_down": 11.21},
    "002602.SZ": {"st": True, "limit_up": 17.41, "high_at_limit_up": True},
}
MARKET_ACCEPTANCE: dict[str, Any] = {
    "a_share_turnover": {"sum_of": ("000001.SH", "399106.SZ", "899050.BJ"), "total": 2_550_000_000_000},
    "southbound_20d_leaders": ("09988.HK", "00700.HK", "03690.HK"),
    "baba_streak_days": 15,
    "baba_streak_net_buy_hkd": 37_120_000_000,
}


# --------------------------------------------------------------------------------------------
# Prices: integer milli-units of the quote currency (154.39 -> 154_390), so ticks are exact.

# HKEX spread table: (up to and including this price, tick), in milli-HKD.
HK_SPREADS = (
    (250, 1), (500, 5), (10_000, 10), (20_000, 20), (100_000, 50), (200_000, 100),
    (500_000, 200), (1_000_000, 500), (2_000_000, 1_000), (5_000_000, 2_000), (9_995_000, 5_000),
)
_HK_TOPS = tuple(top for top, _ in HK_SPREADS)
_HK_TICKS = tuple(tick for _, tick in HK_SPREADS) + (5_000,)


def hk_tick(price: float, up: bool = False) -> int:
    """The HKEX tick at `price` (milli); `up` asks for the step above a band's top."""
    return _HK_TICKS[(bisect_right if up else bisect_left)(_HK_TOPS, price)]


@dataclass(frozen=True, slots=True)
class Ticks:
    """Tick rules of one instrument: a fixed tick, or the HKEX spread table (fixed == 0)."""

    fixed: int

    @staticmethod
    def of(inst: Inst) -> Ticks:
        if inst.hk and inst.kind != "index":
            return Ticks(0)
        return Ticks(1 if inst.kind == "etf" else 10)

    def round(self, x: float) -> int:
        tick = self.fixed or hk_tick(x)
        return int(round(x / tick)) * tick

    def round_exact(self, x: Decimal) -> int:
        """Half-up to the tick, in Decimal: the rounding exchanges use for limits."""
        tick = self.fixed or hk_tick(float(x * 1000))
        return int((x * 1000 / tick).quantize(Decimal(1), ROUND_HALF_UP)) * tick

    def up(self, p: int) -> int:
        return p + (self.fixed or hk_tick(p, up=True))

    def down(self, p: int) -> int:
        return p - (self.fixed or hk_tick(p))


def price_at(inst: Inst, pct: float) -> int:
    """The valid price nearest prev_close * (1 + pct %), half up; milli-units."""
    raw = Decimal(inst.prev) * (1 + Decimal(repr(pct)) / 100)
    return Ticks.of(inst).round_exact(raw)


def limit_pct(inst: Inst) -> int | None:
    """Daily limit band in percent (GUIDE 1, 2025 rules), None when there is none."""
    if inst.hk or inst.kind == "index":
        return None
    code = inst.symbol[:6]
    if inst.symbol.endswith(".BJ"):
        return 30
    if code.startswith(("688", "689", "300", "301", "302", "588", "589")):
        return 20
    if inst.st:
        return 5  # risk-warning main board: 5 % until 2026-07-05
    return 10


def limits(inst: Inst) -> tuple[int, int] | None:
    """(limit_up, limit_down) in milli-units: prev * (1 +/- pct), half up to the tick."""
    pct = limit_pct(inst)
    if pct is None:
        return None
    ticks = Ticks.of(inst)
    prev, band = Decimal(inst.prev), Decimal(pct) / 100
    return ticks.round_exact(prev * (1 + band)), ticks.round_exact(prev * (1 - band))


def _money(x: float) -> float:
    return float(round(x))


# --------------------------------------------------------------------------------------------
# One instrument's session: the path builder


@dataclass(frozen=True, slots=True)
class Session:
    """Where an instrument trades, in steps."""

    auction: tuple[int, int]  # opening call auction: indicative prices only
    open_step: int  # the opening auction prints
    segments: tuple[tuple[int, int], ...]  # continuous trading, [start, end)
    close_call: tuple[int, int]  # closing auction: indicative prices only (may be empty)
    close_step: int  # the closing print

    @staticmethod
    def of(inst: Inst, rng: Random) -> Session:
        if inst.hk:
            close = rng.randrange(HK_CLOSE_EARLIEST, LAST_STEP)
            return Session((1, HK_OPEN), HK_OPEN, ((AM_START, HK_AM_END), (PM_START, HK_CLOSE_CALL)),
                           (HK_CLOSE_CALL, close), close)
        # SSE ETFs trade continuously to 15:00 under the 2025 rules; everything else has a closing call.
        end = CN_CLOSE if inst.kind == "etf" and inst.symbol.endswith(".SH") else CN_CLOSE_CALL
        return Session((CN_CALL, CN_OPEN), CN_OPEN, ((AM_START, CN_AM_END), (PM_START, end)),
                       (end, CN_CLOSE), CN_CLOSE)

    def tau(self, step: int) -> int:
        """Trading clock: continuous steps before `step` (stands still over lunch)."""
        return sum(min(max(step - a, 0), b - a) for a, b in self.segments)

    def in_continuous(self, step: int) -> bool:
        return any(a <= step < b for a, b in self.segments)


@lru_cache(maxsize=None)
def _ushape(n: int) -> tuple[float, ...]:
    """Relative trading activity at each step of a session of n steps: busy at both ends."""
    return tuple(0.5 + 2.2 * math.exp(-i / n * 10) + 1.3 * math.exp(-(1 - i / n) * 12) for i in range(n))


def _trade_plan(inst: Inst, sess: Session, forced: set[int], seal: tuple[int, int], rng: Random,
                start: int, stop: int) -> tuple[array, array]:
    """The continuous-session trades: their steps, and the cumulative turnover after each,
    running from `start` to `stop` along a U-shaped, noisy profile."""
    s0, s1 = seal
    act, act_sealed = inst.activity, inst.activity * 0.5  # a sealed limit trades thinly
    steps, weights = array("H"), []
    for seg, (a, b) in enumerate(sess.segments):
        shape = _ushape(b - a)
        morning = 1.15 if seg == 0 else 1.0
        for k in range(a, b):
            sealed = s0 <= k <= s1
            if rng.random() < (act_sealed if sealed else act) or k in forced:
                steps.append(k)
                weights.append(shape[k - a] * morning * (0.3 + 1.4 * rng.random()) * (0.25 if sealed else 1.0))
    scale, acc, cum = (stop - start) / sum(weights), 0.0, array("q")
    for w in weights:
        acc += w
        cum.append(start + round(acc * scale))
    return steps, cum


OPEN_SHARE = {"index": 0.015, "stock": 0.02, "etf": 0.01}  # of the day's turnover
CLOSE_SHARE = {"CN": 0.035, "HK": 0.06, "SSE_ETF": 0.004}
TAPER = 100  # steps (5 min) over which the noise fades in and out around key points
NOISE_MEMORY = 0.98  # per trade: the noise is a slow AR(1) wander, not a jitter
UNIT = math.sqrt(12)  # (random() - 0.5) * UNIT has unit variance: a cheap stand-in for gauss()


def _seed(symbol: str) -> int:
    return zlib.crc32(symbol.encode()) ^ SEED


def full_quote(inst: Inst) -> dict[str, Any]:
    """The instrument as the first event shows it: nothing traded yet."""
    q: dict[str, Any] = {
        "symbol": inst.symbol, **names_of(inst.symbol, inst.name), "kind": inst.kind, "currency": inst.currency,
        "prev_close": Ticks.of(inst).round_exact(Decimal(inst.prev)) / 1000, "volume": 0, "turnover": 0.0,
        "ts": T0_MS,
    }
    if inst.kind != "index":
        q.update(bid=0.0, ask=0.0, bid_size=0, ask_size=0)
    if inst.kind == "stock" and not inst.hk:
        q["st"] = inst.st
        if inst.limit_days:
            q["limit_days"] = inst.limit_days  # what a source's limit pool says (docs/protocol.md)
        if inst.limit_down_days:
            q["limit_down_days"] = inst.limit_down_days
    if inst.kind == "etf":
        q["iopv"] = _iopv(int(Decimal(inst.prev) * 1000), sum(inst.premium) / 2)
    if inst.kind != "index":
        q.update(_float_and_average(inst))
    return q


def _float_and_average(inst: Inst) -> dict[str, int]:
    """Free float and 5-day average volume, made up (the recap has neither): a
    turnover rate of 0.3-6 % and a volume ratio of 0.7-1.8 at the close."""
    rng = Random(_seed(inst.symbol) + 3)  # its own draws: the price paths stay as they were
    day_volume = inst.turnover / float(inst.prev)
    return {"float_shares": round(day_volume / rng.uniform(0.003, 0.06) / LOT) * LOT,
            "avg_volume_5d": round(day_volume / rng.uniform(0.7, 1.8) / LOT) * LOT}


def _iopv(last_milli: int, premium_pct: float) -> float:
    """IOPV to 4 decimals, such that last is `premium_pct` above it."""
    return round(last_milli * 10 / (1 + premium_pct / 100)) / 10_000


def quote_stream(inst: Inst, order: int) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(step, order, partial quote) for every step where this instrument changes.

    State is kept in integer milli-units; a partial quote carries only what changed.
    """
    sym, kind = inst.symbol, inst.kind
    index, etf = kind == "index", kind == "etf"
    rng = Random(_seed(sym))
    sess = Session.of(inst, rng)
    ticks = Ticks.of(inst)
    up_lim, down_lim = limits(inst) or (None, None)

    # Key points on the trading clock; the open sits at tau 0, the close at the end.
    open_px, close_px = price_at(inst, inst.open), price_at(inst, inst.close)
    key_at_step: dict[int, int] = {}
    for hhmm, pct in inst.marks:
        k = step_of(hhmm)
        assert sess.in_continuous(k), (sym, hhmm)
        key_at_step[k] = price_at(inst, pct)
    keys = sorted({0: open_px, sess.tau(sess.close_step): close_px,
                   **{sess.tau(k): px for k, px in key_at_step.items()}}.items())
    high, low = max(px for _, px in keys), min(px for _, px in keys)
    assert up_lim is None or down_lim <= low <= high <= up_lim, (sym, "inside the limit band")
    # The noise may reach the day's high/low but never a limit: only key points touch limits.
    hi_cap = ticks.down(high) if high == up_lim else high
    lo_cap = ticks.up(low) if low == down_lim else low
    seal = (step_of(inst.seal[0]), step_of(inst.seal[1])) if inst.seal else (-1, -1)
    seal_px = key_at_step[seal[0]] if inst.seal else 0
    assert not inst.seal or seal_px in (up_lim, down_lim), (sym, "a seal sits at a limit")
    seal_side = "bid" if seal_px == up_lim else "ask"
    dip = (step_of(inst.seal_dip[0]), step_of(inst.seal_dip[1]), inst.seal_dip[2]) if inst.seal_dip else None

    # Turnover: fixed shares at the two auctions, the rest spread over the trade plan.
    total = inst.turnover
    f_open = OPEN_SHARE[kind]
    no_close_call = sess.close_call[0] == sess.close_call[1]
    f_close = CLOSE_SHARE["SSE_ETF" if no_close_call else ("HK" if inst.hk else "CN")]
    plan_steps, plan_turnover = _trade_plan(inst, sess, set(key_at_step) | set(seal), seal,
                                            Random(_seed(sym) + 1), round(total * f_open),
                                            round(total * (1 - f_close)))
    avg_px = 24.0 if inst.hk else 11.0  # index volume: shares at a typical share price
    depth = max(1, round(total / 5_000 / float(inst.prev) / LOT))  # typical book size, lots

    # What the client holds (milli-units for prices).
    last = hi = lo = 0
    cum_t = cum_v = 0
    book = [0, 0, 0, 0]  # bid, ask, bid_size, ask_size
    iopv = full_quote(inst).get("iopv")

    book_rng = Random(_seed(sym) + 2)  # the deeper levels draw on their own: the paths stay as they were
    deeper = [[(1 + int(book_rng.random() * 2 * depth)) * LOT for _ in range(4)] for _ in range(2)]
    sent = [-BOOK_EVERY, -BOOK_EVERY]  # the step each side's levels were last sent
    ladder: list[list[int]] = [[], []]  # the prices last sent on each side

    def levels(side: int, best: int, size: int) -> list[list[float]]:
        """Five levels from the best one outwards, a tick apart, inside the limits; one
        deeper size changes per update (queues move a little at a time)."""
        sizes = deeper[side]
        sizes[int(book_rng.random() * 4)] = (1 + int(book_rng.random() * 2 * depth)) * LOT
        out, px = [[best / 1000, size]], best
        ladder[side] = [best]
        step = ticks.fixed * (1 if side else -1)
        for queued in sizes:
            px = px + step if step else (ticks.up(px) if side else ticks.down(px))
            if px <= 0 or (up_lim is not None and not down_lim <= px <= up_lim):
                break
            out.append([px / 1000, queued])
            ladder[side].append(px)
        return out

    def set_book(d: dict[str, Any], bid: int, ask: int, bid_size: int, ask_size: int) -> None:
        # The five levels when the best moved off the ladder last sent (fewer than four
        # levels sent beyond it), at least every BOOK_EVERY steps, and when a side empties,
        # fills or reaches a limit (a seal): every book update of a whole day cost a replay 3x its time.
        # `bid`/`ask` and sizes stay exact on every step (docs/protocol.md).
        k = (d["ts"] - T0_MS) // STEP_MS
        for side, best, size, i in ((0, bid, bid_size, 0), (1, ask, ask_size, 1)):
            if best == book[i]:
                continue
            sent_px = ladder[side]
            if best in sent_px:  # the levels sent beyond the new best, a tick apart
                beyond = len(sent_px) - 1 - sent_px.index(best)
            elif sent_px and best == (ticks.down(sent_px[0]) if side else ticks.up(sent_px[0])):
                beyond = len(sent_px)  # one tick inside the ladder: it is all beyond
            else:
                beyond = 0
            if k - sent[side] >= BOOK_EVERY or not best or not book[i] or beyond < 4 or best in (up_lim, down_lim):
                sent[side] = k
                d["asks" if side else "bids"] = levels(side, best, size) if best else []
        if bid != book[0]:
            book[0] = bid
            d["bid"] = bid / 1000
        if ask != book[1]:
            book[1] = ask
            d["ask"] = ask / 1000
        if bid_size != book[2]:
            book[2] = d["bid_size"] = bid_size
        if ask_size != book[3]:
            book[3] = d["ask_size"] = ask_size

    def trade(k: int, px: int, new_cum_t: int) -> dict[str, Any]:
        nonlocal last, hi, lo, cum_t, cum_v
        d: dict[str, Any] = {"symbol": sym, "ts": T0_MS + k * STEP_MS}
        dt = new_cum_t - cum_t
        if index:
            dv = round(dt / avg_px)
        else:
            dv = max(LOT, round(dt * 1000 / px / LOT) * LOT) if dt > 0 else 0
        if dt:
            cum_t = new_cum_t
            d["turnover"] = float(cum_t)
        if dv:
            cum_v += dv
            d["volume"] = cum_v
        uptick = px > last or (px == last and rng.random() < 0.5)
        if px != last:
            last = px
            d["last"] = px / 1000
        if px > hi or not hi:
            hi = px
            d["high"] = px / 1000
        if px < lo or not lo:
            lo = px
            d["low"] = px / 1000
        if index:
            return d
        if seal[0] <= k <= seal[1]:
            # Sealed: the whole queue sits on one side at the limit, the other side is empty.
            frac = (k - seal[0]) / max(1, seal[1] - seal[0])
            a, b = inst.seal_size
            size = round((a + (b - a) * frac) * (0.95 + 0.1 * rng.random()) / LOT) * LOT
            if dip is not None and dip[0] <= k < dip[1]:
                size = round(size * dip[2] / LOT) * LOT  # orders pulled from the queue: 封单骤减
            if seal_side == "bid":
                set_book(d, px, 0, size, 0)
            else:
                set_book(d, 0, px, 0, size)
            return d
        if px == up_lim or (uptick and px != down_lim):
            bid, ask = ticks.down(px), px  # the trade lifted the offer
        else:
            bid, ask = px, ticks.up(px)  # the trade hit the bid
        set_book(d, bid, ask, (1 + int(rng.random() * 2 * depth)) * LOT, (1 + int(rng.random() * 2 * depth)) * LOT)
        return d

    def indicative(k: int, x: float, matched: int) -> dict[str, Any] | None:
        # During a call auction both sides show the indicative match price and volume.
        px = ticks.round(min(max(x, lo_cap), hi_cap))
        d: dict[str, Any] = {"symbol": sym, "ts": ts_of(k)}
        set_book(d, px, px, matched, matched + int(rng.random() * depth) * LOT)
        return d if len(d) > 2 else None

    prem_mid = (inst.premium[0] + inst.premium[1]) / 2
    prem_half = (inst.premium[1] - inst.premium[0]) / 2
    prem_state = 0.0

    def with_iopv(k: int, d: dict[str, Any] | None) -> dict[str, Any] | None:
        # The exchange publishes IOPV every 15 s; the premium wanders inside its range.
        nonlocal prem_state, iopv
        prem_state = 0.9 * prem_state + 0.35 * (rng.random() - 0.5) * UNIT
        new = _iopv(last, prem_mid + prem_half * math.tanh(prem_state))
        if new == iopv:
            return d
        iopv = new
        d = d or {"symbol": sym, "ts": ts_of(k)}
        d["iopv"] = iopv
        return d

    # 1. Opening call auction: the indicative price drifts toward the open.
    if not index:
        a, b = sess.auction
        start = open_px * (1 + rng.uniform(-0.006, 0.006))
        open_volume = total * f_open * 1000 / open_px
        for k in range(a, b):
            if rng.random() < 0.5:
                left = (b - k) / (b - a)
                x = open_px + (start - open_px) * left * (1 + 0.3 * (rng.random() - 0.5) * UNIT)
                matched = max(LOT, round(open_volume * (1 - left) * (0.8 + 0.2 * rng.random()) / LOT) * LOT)
                d = indicative(k, x, matched)
                if d:
                    yield k, order, d

    # 2. The open prints.
    d = trade(sess.open_step, open_px, round(total * f_open))
    d["open"] = open_px / 1000
    yield sess.open_step, order, d

    # 3. Continuous trading: linear between key points on the trading clock, plus faded noise.
    n_plan, p = len(plan_steps), 0
    next_k = plan_steps[0]
    t = 0  # trading clock
    j = 0  # keys[j] <= t <= keys[j + 1]
    noise = 0.0
    kick = inst.vol / 100 * math.sqrt(1 - NOISE_MEMORY**2) * UNIT
    for seg_a, seg_b in sess.segments:
        for k in range(seg_a, seg_b):
            d = None
            if k == next_k:
                if seal[0] <= k <= seal[1]:
                    px = seal_px
                elif k in key_at_step:
                    px = key_at_step[k]
                else:
                    while keys[j + 1][0] < t:
                        j += 1
                    (t0, p0), (t1, p1) = keys[j], keys[j + 1]
                    base = p0 + (p1 - p0) * (t - t0) / (t1 - t0)
                    noise = NOISE_MEMORY * noise + kick * (rng.random() - 0.5)
                    fade = min(1.0, (t - t0) / TAPER, (t1 - t) / TAPER)
                    x = base * (1 + fade * noise)
                    px = ticks.round(lo_cap if x < lo_cap else hi_cap if x > hi_cap else x)
                d = trade(k, px, plan_turnover[p])
                p += 1
                next_k = plan_steps[p] if p < n_plan else -1
            if etf and k % 5 == 0:
                d = with_iopv(k, d)
            if d:
                yield k, order, d
            t += 1

    # 4. Closing call auction: the indicative price drifts to the close.
    a, b = sess.close_call
    sealed_to_close = seal[0] <= sess.close_step <= seal[1]
    for k in range(a, b):
        d = None
        if not index and not sealed_to_close and rng.random() < 0.4:
            left = (b - k) / (b - a)
            matched = round(total * f_close * 1000 / close_px * (1 - left) / LOT) * LOT + LOT
            d = indicative(k, close_px + (last - close_px) * left, matched)
        if etf and k % 5 == 0:
            d = with_iopv(k, d)
        if d:
            yield k, order, d

    # 5. The close prints; turnover lands on the day's total exactly.
    k = sess.close_step
    d = trade(k, close_px, total)
    if etf and k % 5 == 0:
        d = with_iopv(k, d)
    yield k, order, d
    assert (hi, lo) == (high, low), (sym, "the key points make the day's range")


# --------------------------------------------------------------------------------------------
# The day before: what marketmon would have recorded on 2025-09-11 (config/day_record.py).

PREVIOUS_DATE = "2025-09-11"
PREVIOUS_TURNOVER = 2_440_000_000_000  # A-share turnover of 2025-09-11: today's 2.55 tn is "continued expansion"


# The day's own A-share turnover profile (share of the close's total, read off this replay),
# which the day before followed too: so "vs the day before" reads +4.5 % all day, as the recap says.
_PROFILE = (("09:25", 0.015), ("09:30", 0.016), ("09:45", 0.1501), ("10:00", 0.215), ("10:15", 0.2624),
            ("10:30", 0.3026), ("10:45", 0.3437), ("11:00", 0.3856), ("11:15", 0.4385), ("11:30", 0.5267),
            ("13:00", 0.5275), ("13:15", 0.647), ("13:30", 0.7051), ("13:45", 0.745), ("14:00", 0.7802),
            ("14:15", 0.8148), ("14:30", 0.8512), ("14:45", 0.9004), ("14:57", 0.965), ("15:00", 1.0))  # fmt: skip


def previous_turnover() -> dict[int, float]:
    """The A-share turnover of the day before by minute of the day (09:25 = 565), CNY, at the
    profile's points: a reader takes the last point at or before its minute."""
    out = {}
    for hhmm, share in _PROFILE:
        h, m = map(int, hhmm.split(":"))
        out[h * 60 + m] = float(round(share * PREVIOUS_TURNOVER))
    return out


# --------------------------------------------------------------------------------------------
# The HKD/CNY rate: a quote like an index's (docs/protocol.md), for the A/H premium.

FX_SYMBOL = "HKDCNY.FX"
FX_PREV = 9131  # 1e-4 CNY per HKD: yesterday's close
FX_STEPS = 200  # a new rate every 10 minutes


def fx_quote() -> dict[str, Any]:
    return {"symbol": FX_SYMBOL, "name": "HKD/CNY", "currency": "CNY",  # no `kind`: the code says it is a rate
            "prev_close": FX_PREV / 10_000, "volume": 0, "turnover": 0.0, "ts": T0_MS}  # fmt: skip


def fx_stream(order: int) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """The rate drifts a few pips and ends the day at HKD_CNY (the Southbound quota's rate)."""
    last = high = low = 0
    for k in (*range(1, LAST_STEP, FX_STEPS), LAST_STEP):
        rate = round(HKD_CNY * 10_000) if k == LAST_STEP else FX_PREV + round(2 * math.sin(k / 1200 * math.pi)) - 3 * k // LAST_STEP
        if rate == last:
            continue
        d: dict[str, Any] = {"symbol": FX_SYMBOL, "ts": ts_of(k), "last": rate / 10_000}
        if not last:
            d["open"] = rate / 10_000
        if rate > high:
            high = rate
            d["high"] = rate / 10_000
        if not low or rate < low:
            low = rate
            d["low"] = rate / 10_000
        last = rate
        yield k, order, d


# --------------------------------------------------------------------------------------------
# Southbound Stock Connect

# Today's totals per channel (HKD): net buying in the tens of billions, led by BABA-W.
SOUTHBOUND_TODAY = {"SH": (61_840_000_000, 50_270_000_000), "SZ": (47_930_000_000, 38_710_000_000)}
SOUTHBOUND_TOP_TODAY = {
    "09988.HK": 4_120_000_000, "00700.HK": 1_730_000_000, "03690.HK": 820_000_000, "00981.HK": 640_000_000,
    "09888.HK": 560_000_000, "01024.HK": 410_000_000, "01347.HK": 380_000_000, "00013.HK": 220_000_000,
    "01093.HK": 180_000_000, "06160.HK": 150_000_000, "09626.HK": 120_000_000, "00941.HK": -210_000_000,
    "01810.HK": -350_000_000,
}
FLOW_STEPS = range(AM_START, LAST_STEP + 1, 20)  # every 60 s, 09:30 .. 16:10


def _flow_curve(rng: Random) -> list[float]:
    """Cumulative share (0..1] of the day's Southbound trading at each flow event."""
    weights = []
    for k in FLOW_STEPS:
        if k == AM_START:
            w = 0.0  # opening auction, added below as a fixed share
        elif AM_START < k <= HK_AM_END:
            w = _ushape(HK_AM_END - AM_START)[k - AM_START - 1] * 1.15
        elif PM_START < k <= HK_CLOSE_CALL:
            w = _ushape(HK_CLOSE_CALL - PM_START)[k - PM_START - 1]
        else:
            w = 0.0  # lunch, and the closing auction before its print
        weights.append(w * (0.5 + rng.random()))
    total = sum(weights)
    curve, acc = [], 0.0
    for w in weights:
        acc += w
        curve.append(0.02 + 0.94 * acc / total)
    curve[-1] = 1.0  # the closing auction prints at 16:10
    return curve


def _flow_channel(buy: float, sell: float) -> dict[str, float]:
    return {"buy_hkd": buy, "sell_hkd": sell, "net_buy_hkd": buy - sell, "quota_cny": SOUTHBOUND_QUOTA_CNY,
            "quota_left_cny": _money(SOUTHBOUND_QUOTA_CNY - (buy - sell) * HKD_CNY)}


def flow_events() -> Iterator[tuple[int, int, int, dict[str, Any]]]:
    rng = Random(SEED ^ 0x50B)
    curves = {(ch, side): _flow_curve(rng) for ch in ("SH", "SZ") for side in (0, 1)}
    per_stock = {sym: _flow_curve(rng) for sym in SOUTHBOUND_TOP_TODAY}
    for i, k in enumerate(FLOW_STEPS):
        south = {}
        for ch, (buy, sell) in SOUTHBOUND_TODAY.items():
            south[ch] = _flow_channel(_money(buy * curves[ch, 0][i]), _money(sell * curves[ch, 1][i]))
        nets = sorted(((_money(v * per_stock[s][i]), s) for s, v in SOUTHBOUND_TOP_TODAY.items()), reverse=True)
        top = [{"symbol": s, "net_buy_hkd": v} for v, s in nets[:10]]
        yield k, 2, 0, {"type": "flow", "ts": ts_of(k), "southbound": south, "top": top}


def _southbound_days_back(end: date, n: int) -> list[date]:
    days, d = [], end
    while len(days) < n:
        if is_southbound_day(d):  # both markets open (none closed in 2025-08-14 .. 09-11)
            days.append(d)
        d -= timedelta(days=1)
    return days[::-1]


def _spread(total: float, raw: list[float]) -> list[float]:
    """Scale/shift `raw` to sum to `total`, in whole HKD millions, exact."""
    shift = (total - sum(raw) * 1e9) / len(raw)
    vals = [round((x * 1e9 + shift) / 1e6) * 1e6 for x in raw]
    vals[-1] += total - sum(vals)
    return vals


def flow_history_body() -> dict[str, Any]:
    """20 trading days to 2025-09-11: BABA-W net bought 15 days straight (HKD 37.12 bn);
    BABA-W, Tencent and Meituan-W lead the 20-day net buying, in that order."""
    rng = Random(SEED ^ 0x417)
    days = _southbound_days_back(date(2025, 9, 11), 20)
    streak = [0.6 + rng.random() for _ in range(15)]
    baba = [420e6, 310e6, -270e6, 580e6, -850e6] + [
        round(37_120_000_000 * w / sum(streak) / 1e6) * 1e6 for w in streak
    ]
    baba[-1] += 37_120_000_000 - sum(baba[5:])
    tencent = _spread(19_460_000_000, [rng.uniform(-0.5, 2.5) for _ in days])
    meituan = _spread(9_830_000_000, [rng.uniform(-0.8, 1.8) for _ in days])
    others = ("01810.HK", "00981.HK", "01024.HK", "00941.HK", "09618.HK", "01347.HK", "01093.HK",
              "00005.HK", "02318.HK", "09888.HK", "00388.HK")
    out = []
    for i, day in enumerate(days):
        top = {"09988.HK": baba[i], "00700.HK": tencent[i], "03690.HK": meituan[i]}
        for sym in rng.sample(others, 7):
            top[sym] = round(rng.uniform(-0.9, 1.1) * 1e3) * 1e6
        rest = round(rng.uniform(-1.5, 4.0) * 1e3) * 1e6
        ranked = sorted(top.items(), key=lambda kv: -kv[1])
        out.append({"date": day.isoformat(), "net_buy_hkd": sum(top.values()) + rest,
                    "top": [{"symbol": s, "net_buy_hkd": v} for s, v in ranked]})
    return {"type": "flow_history", "days": out}


# --------------------------------------------------------------------------------------------
# The event loop


def status_events() -> list[tuple[int, int, int, dict[str, Any]]]:
    out = []
    for market, phases in (("CN", CN_PHASES), ("HK", HK_PHASES)):
        for hhmm, phase in phases:
            k = step_of(hhmm)
            out.append((k, 0, 0, {"type": "status", "ts": ts_of(k), "market": market, "phase": phase}))
    out.sort(key=lambda e: e[:2])  # stable: CN before HK at the same moment
    return [(k, r, n, body) for n, (k, r, _, body) in enumerate(out)]


def quote_batches(streams: list[Iterator[tuple[int, int, dict]]], chunk: int = 100
                  ) -> Iterator[tuple[int, int, int, dict]]:
    """One "quotes" body per step, holding every instrument that changed in it (in table order).

    Streams are drained a chunk of steps at a time into per-step buckets: cheaper than
    a heap merge, and only one chunk of partial quotes is ever held.
    """
    pending = [next(s, None) for s in streams]
    for lo in range(0, LAST_STEP + 1, chunk):
        hi = lo + chunk
        buckets: list[list[dict]] = [[] for _ in range(chunk)]
        for i, stream in enumerate(streams):
            item = pending[i]
            while item is not None and item[0] < hi:
                buckets[item[0] - lo].append(item[2])
                item = next(stream, None)
            pending[i] = item
        for off, batch in enumerate(buckets):
            if batch:
                yield lo + off, 1, 0, {"type": "quotes", "ts": ts_of(lo + off), "quotes": batch}
    assert all(item is None for item in pending)


def _events() -> Iterator[Event]:
    # At one moment: the opening snapshot, then flow history, status changes, quotes, flow.
    head = [
        (0, -2, 0, {"type": "quotes", "ts": T0_MS, "quotes": [*(full_quote(i) for i in INSTRUMENTS), fx_quote()]}),
        (0, -1, 0, flow_history_body()),
    ]
    streams = [*(quote_stream(inst, n) for n, inst in enumerate(INSTRUMENTS)), fx_stream(len(INSTRUMENTS))]
    for k, _, _, body in heapq.merge(head, status_events(), quote_batches(streams), flow_events()):
        yield Event(ts_of(k), body)


class SeedDay:
    """The bundled demo day (a `Script`): 2025-09-12, China A-shares and Hong Kong."""

    trade_date = TRADE_DATE
    tz = TZ
    instruments = INSTRUMENTS

    def events(self) -> Iterator[Event]:
        return _events()

    def closing_state(self) -> dict[str, dict[str, Any]]:
        """Every instrument's full quote after the last event (partial quotes merged)."""
        state: dict[str, dict[str, Any]] = {}
        for ev in self.events():
            if ev.body["type"] == "quotes":
                for q in ev.body["quotes"]:
                    state.setdefault(q["symbol"], {}).update(q)
        return state


SEED_DAY = SeedDay()
