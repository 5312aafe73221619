"""The A/H pairs as East Money lists them (its "AH股比价" board, `b:DLMK0101`).

`api/qt/clist/get` pages through the board like any list (serve/sources/
market.py): per row f12 the H share's code, f191 the A share's code, f193
the company's name (akshare `akshare/stock/stock_hsgt_em.py`,
`stock_zh_ah_spot_em`). No recorded answer of this board exists here, so a
row whose codes do not make an A share and an HK share is skipped, never
guessed. The bridge sends each pair as the A share's optional `ah_pair`
quote field (docs/protocol.md); the screen adds them to the bundled pairs.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from marketmon.market.symbols import SymbolError, classify, normalize
from marketmon.serve.sources.base import ParseError
from marketmon.serve.sources.eastmoney import decode

AH_BOARD = "b:DLMK0101"
PAGE_SIZE = 100


def list_url(base: str, page: int) -> str:
    query = urllib.parse.urlencode({"pn": page, "pz": PAGE_SIZE, "po": 1, "np": 1, "fltt": 1, "invt": 2,
                                    "fid": "f12", "fs": AH_BOARD, "fields": "f12,f13,f14,f191,f193"})  # fmt: skip
    return f"{base.rstrip('/')}/api/qt/clist/get?{query}"


def parse_page(body: bytes | str) -> tuple[list[tuple[str, str, str | None]], int | None, list[str]]:
    """((A, H, name) pairs, the board's `total`, rows skipped with the reason)."""
    data = decode(body).get("data")
    if data is None:
        return [], 0, []
    if not isinstance(data, dict):
        raise ParseError("East Money 'data' is not an object")
    diff = data.get("diff") or []
    rows: Any = list(diff.values()) if isinstance(diff, dict) else diff
    if not isinstance(rows, list):
        raise ParseError("East Money 'data.diff' is neither a list nor an object")
    pairs, skipped = [], []
    for row in rows:
        try:
            if not isinstance(row, dict) or not isinstance(row.get("f12"), str) or not isinstance(row.get("f191"), str):
                raise SymbolError(f"a pair row without both codes: {row!r:.60}")
            h, a = normalize(f"{row['f12']}.HK"), normalize(row["f191"])
            if classify(a).exchange not in ("SH", "SZ") or classify(h).kind != "stock":
                raise SymbolError(f"not an A share and an H share: {a}, {h}")
        except SymbolError as exc:
            skipped.append(str(exc))
            continue
        name = row.get("f193") if isinstance(row.get("f193"), str) else None
        pairs.append((a, h, name[:64] if name else None))
    total = data.get("total")
    return pairs, total if isinstance(total, int) and not isinstance(total, bool) else None, skipped
