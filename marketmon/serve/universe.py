"""A synthetic full market: realistic codes on every board, random-walk quotes.

Used by `marketmon serve --demo --universe full` (the seed day's names plus
these) and by the benchmarks. Deterministic for a given seed.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass

from marketmon.serve.script import Event, Script

# (board prefix range, exchange, kind, tick, share of the market) — roughly the
# real mix: ~5,400 A-shares, ~1,000 ETFs, ~2,600 HK stocks in 9,000.
_BOARDS = (
    (range(600000, 606000), "SH", "stock", 0.01, 0.19),
    (range(688000, 689000), "SH", "stock", 0.01, 0.06),
    (range(0, 4000), "SZ", "stock", 0.01, 0.17),
    (range(300000, 302000), "SZ", "stock", 0.01, 0.15),
    (range(920000, 921000), "BJ", "stock", 0.01, 0.03),
    (range(510000, 520000), "SH", "etf", 0.001, 0.06),
    (range(159000, 160000), "SZ", "etf", 0.001, 0.05),
    (range(1, 10000), "HK", "stock", 0.01, 0.29),
)


@dataclass(frozen=True, slots=True)
class Synthetic:
    symbol: str
    kind: str
    tick: float
    prev_close: float


def instruments(n: int, seed: int = 1, exclude: frozenset[str] = frozenset()) -> list[Synthetic]:
    """n distinct instruments spread over the boards in market proportions."""
    rng = random.Random(seed)
    out: list[Synthetic] = []
    for codes, exchange, kind, tick, share in _BOARDS:
        want = max(1, round(n * share))
        picked = rng.sample(codes, min(want, len(codes)))
        for code in sorted(picked):
            symbol = f"{code:05d}.HK" if exchange == "HK" else f"{code:06d}.{exchange}"
            if symbol in exclude:
                continue
            price = rng.uniform(0.5, 3.0) if kind == "etf" else rng.lognormvariate(2.5, 0.8)
            price = max(tick * 20, round(round(price / tick) * tick, 3))
            out.append(Synthetic(symbol, kind, tick, price))
    rng.shuffle(out)
    return out[:n]


# Made-up names for the synthetic codes: two syllables and a trade, in Chinese
# with its pinyin and English beside it (deterministic by code; not real companies).
_SYLLABLES = (
    ("华", "hua"), ("中", "zhong"), ("新", "xin"), ("天", "tian"), ("海", "hai"), ("金", "jin"), ("东", "dong"),
    ("宏", "hong"), ("瑞", "rui"), ("安", "an"), ("信", "xin"), ("兴", "xing"), ("恒", "heng"), ("德", "de"),
    ("泰", "tai"), ("源", "yuan"), ("星", "xing"), ("达", "da"), ("明", "ming"), ("科", "ke"),
)
_TRADES = {
    "stock": (("科技", "Technology"), ("电子", "Electronics"), ("医药", "Pharma"), ("股份", "Holdings"),
              ("材料", "Materials"), ("能源", "Energy"), ("智能", "Intelligent"), ("电气", "Electric")),
    "etf": (("ETF", "ETF"),),
    "hk": (("集团", "Group"), ("控股", "Holdings"), ("国际", "International"), ("科技", "Technology")),
}


def synthetic_names(symbol: str, kind: str) -> dict[str, str]:
    """A plausible `name` (Chinese) and `name_en` for a synthetic code."""
    code = int(symbol.split(".")[0])
    first, second = _SYLLABLES[code % 20], _SYLLABLES[code // 20 % 20]
    trades = _TRADES["hk" if symbol.endswith(".HK") else kind]
    trade = trades[code // 400 % len(trades)]
    pinyin = (first[1] + second[1]).capitalize()
    return {"name": first[0] + second[0] + trade[0], "name_en": f"{pinyin} {trade[1]}"}


def full_quote(inst: Synthetic, ts: int) -> dict:
    return {
        "symbol": inst.symbol, "ts": ts, **synthetic_names(inst.symbol, inst.kind), "kind": inst.kind,
        "currency": "HKD" if inst.symbol.endswith(".HK") else "CNY", "prev_close": inst.prev_close,
        "open": inst.prev_close, "high": inst.prev_close, "low": inst.prev_close, "last": inst.prev_close,
        "volume": 0, "turnover": 0.0,
    }  # fmt: skip


class RandomWalk:
    """Partial quotes for a universe: each update moves one instrument a few ticks."""

    def __init__(self, universe: list[Synthetic], seed: int = 2) -> None:
        self.universe = universe
        self.rng = random.Random(seed)
        self.last = {i.symbol: i.prev_close for i in universe}
        self.high = dict(self.last)
        self.low = dict(self.last)
        self.volume = dict.fromkeys(self.last, 0)

    def updates(self, count: int, ts: int) -> list[dict]:
        """`count` updates of instruments picked at random."""
        return self.move(self.rng.choices(self.universe, k=count), ts)

    def move(self, chosen: list[Synthetic], ts: int) -> list[dict]:
        """One update for each chosen instrument."""
        rng, out = self.rng, []
        for inst in chosen:
            s = inst.symbol
            # Stay inside +-9 % so no synthetic name trips a limit rule by accident.
            price = self.last[s] + rng.randint(-3, 3) * inst.tick
            price = round(min(max(price, inst.prev_close * 0.91), inst.prev_close * 1.09), 3)
            self.last[s] = price
            self.volume[s] += rng.randint(1, 20) * 100
            q = {"symbol": s, "ts": ts, "last": price, "volume": self.volume[s],
                 "turnover": round(self.volume[s] * price, 2)}  # fmt: skip
            if price > self.high[s]:
                q["high"] = self.high[s] = price
            elif price < self.low[s]:
                q["low"] = self.low[s] = price
            out.append(q)
        return out


class FullUniverse:
    """The seed day plus synthetic instruments moving on every 3-second step."""

    def __init__(self, base: Script, n: int = 9000, per_step: int = 3000, seed: int = 1) -> None:
        self.base = base
        self.trade_date, self.tz = base.trade_date, base.tz
        self.n, self.per_step, self.seed = n, per_step, seed

    def events(self) -> Iterator[Event]:
        base = iter(self.base.events())
        first = next(base)
        known = frozenset(q["symbol"] for q in first.body["quotes"]) if first.body["type"] == "quotes" else frozenset()
        universe = instruments(self.n, self.seed, known)
        opening = {**first.body, "quotes": first.body["quotes"] + [full_quote(i, first.ts) for i in universe]}
        yield Event(first.ts, opening)
        walk = RandomWalk(universe, self.seed + 1)

        def synthetic() -> Iterator[Event]:
            # Synthetic names move on the base's quote steps, 3 s apart.
            for ts in range(first.ts + 3000, first.ts + 7 * 3600 * 1000 + 1, 3000):
                yield Event(ts, {"type": "quotes", "ts": ts, "quotes": walk.updates(self.per_step, ts)})

        yield from heapq.merge(base, synthetic(), key=lambda e: e.ts)
