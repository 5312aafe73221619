"""Quote structs -> polars columns, one per field the struct type has.

The store's pending batch (`pending_batch.py`) holds decoded quote structs in
runs of one type; at flush they become one frame. Taking the structs apart
is done in C (`_columns.c`: each field read from its slot into a buffer that
polars takes without a copy; a message at a time as it arrives, ~100 ns a
quote, where Python's comprehension per field and polars reading the values
back out of lists cost ~430 at flush). Without a compiler the extension is
not built and the same columns are made in Python: the results are
identical (tests/store/test_columns.py), only slower.

The symbol is not kept as text: each quote's row in the store's frame is
looked up (C: in a `RowIndex` the store keeps beside its dict; Python: in
the dict). Where a symbol has no row yet, the row is null and the symbol is
reported, for the store to place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from marketmon.store import book

try:
    from marketmon.store import _columns
except ImportError:  # built without a compiler: the Python pass below
    _columns = None

IMPLEMENTATION = "c" if _columns is not None else "python"
ROW = "row"
_KIND = {pl.Float64: "d", pl.Int64: "q", pl.Boolean: "?", pl.String: "s"}
NESTED = "l"  # a list field (an order book side): taken in Python beside the C pass, which knows scalars only


def _kind_of(dtype: pl.DataType) -> str:
    return NESTED if dtype == book.DTYPE else _KIND[dtype]


class _ArrowColumn:
    """One column as the Arrow PyCapsule interface hands it to polars, once: the
    importer takes the buffers over, so a second import would read freed memory."""

    __slots__ = ("pair",)

    def __init__(self, pair: tuple[object, object]) -> None:
        self.pair: tuple[object, object] | None = pair

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]:
        pair, self.pair = self.pair, None
        if pair is None:
            raise ValueError("this column was already handed over")
        return pair


def row_index() -> Any:
    """The column pass's table of symbol -> row (None without the extension: the
    Python pass looks symbols up in the store's dict). Whoever adds a row to
    that dict adds it here too."""
    return _columns.RowIndex() if _columns is not None else None


class Run:
    """Quotes of one struct type, arrival order, to become columns (`take`).

    With the extension and a type without text fields but the symbol (a
    feed's `Tick`), each message is taken apart as it is added, while its
    structs are in the cache, and the structs are not kept: holding a
    flush's worth of them (~250 bytes each) and reading them back cold cost
    more than decoding them. Otherwise the structs are kept and taken apart
    at `take`.
    """

    __slots__ = ("kind", "_names", "_dtypes", "_kinds", "_rows", "_index", "_quotes", "_appender", "_scalar",
                 "_nested", "_lists")

    def __init__(
        self, kind: type, columns: Mapping[str, tuple[str, pl.DataType]], rows: Mapping[str, int], index: Any,
        expect: int = 4096,
    ) -> None:  # fmt: skip
        """`expect`: about how many quotes will come (room is made for them at once)."""
        fields = kind.__struct_fields__
        assert fields[0] == "symbol"
        self.kind = kind
        self._names = [ROW if f == "symbol" else columns[f][0] for f in fields]
        self._dtypes = [pl.UInt32 if f == "symbol" else columns[f][1] for f in fields]
        kinds = ["r" if f == "symbol" else _kind_of(columns[f][1]) for f in fields]
        # The C pass takes the scalar fields; list fields (rare: a book side) are kept as Python lists.
        self._scalar = [i for i, k in enumerate(kinds) if k != NESTED]
        self._nested = [i for i, k in enumerate(kinds) if k == NESTED]
        self._kinds = "".join(kinds[i] for i in self._scalar)
        self._lists: list[list[Any]] = [[] for _ in self._nested]
        self._rows, self._index = rows, index
        self._quotes: list[Any] = []
        self._appender = None
        if index is not None and "s" not in self._kinds:
            self._appender = _columns.Columns(self._descriptors(), self._kinds, index, expect)

    def add(self, quotes: list[Any]) -> None:
        if self._appender is not None:
            self._appender.append(quotes if type(quotes) is list else list(quotes))
            for values, i in zip(self._lists, self._nested, strict=True):
                name = self.kind.__struct_fields__[i]
                values.extend([getattr(q, name) for q in quotes])
        else:
            self._quotes.extend(quotes)

    def __len__(self) -> int:
        return len(self._appender) if self._appender is not None else len(self._quotes)

    def take(self) -> tuple[list[pl.Series], list[tuple[int, str]]]:
        """The columns in field order, `row` first (null where the symbol has no row
        in the index), and (position, symbol) of each such quote. Empties the run."""
        if self._appender is not None:
            pairs, misses = self._appender.export()
            lists, self._lists = self._lists, [[] for _ in self._nested]
            return self._with_lists(self._series(pairs), lists), misses
        quotes, self._quotes = self._quotes, []
        if self._index is not None:
            columns = self._series(_columns.take(quotes, self._descriptors(), self._kinds, self._index))
            fields = self.kind.__struct_fields__
            columns = self._with_lists(columns, [[getattr(q, fields[i]) for q in quotes] for i in self._nested])
        else:
            values = _extractor(self.kind.__struct_fields__)(quotes, self._rows.get)
            columns = [
                book.column(n, v) if t == book.DTYPE else pl.Series(n, v, dtype=t)
                for n, v, t in zip(self._names, values, self._dtypes, strict=True)
            ]
        rows = columns[0]
        missed = rows.is_null().arg_true().to_list() if rows.null_count() else []
        return columns, [(i, quotes[i].symbol) for i in missed]

    def _series(self, pairs: list[tuple[object, object]]) -> list[pl.Series]:
        # polars names an imported column after its Arrow schema (none here): name it after.
        names = [self._names[i] for i in self._scalar]
        return [pl.Series(_ArrowColumn(p)).alias(n) for n, p in zip(names, pairs, strict=True)]

    def _with_lists(self, scalars: list[pl.Series], lists: list[list[Any]]) -> list[pl.Series]:
        """The scalar columns and the list columns, in field order."""
        if not self._nested:
            return scalars
        out: list[pl.Series | None] = [None] * len(self._names)
        for i, column in zip(self._scalar, scalars, strict=True):
            out[i] = column
        for i, values in zip(self._nested, lists, strict=True):
            out[i] = book.column(self._names[i], values)
        return out  # type: ignore[return-value]

    def _descriptors(self) -> tuple[Any, ...]:
        """The member descriptors of the scalar fields (those the C pass takes)."""
        every = _descriptors(self.kind)
        return tuple(every[i] for i in self._scalar)


def _descriptors(kind: type) -> tuple[Any, ...]:
    """The struct type's member descriptors (on the class, a field is its slot's descriptor)."""
    return tuple(getattr(kind, f) for f in kind.__struct_fields__)


_EXTRACTORS: dict[tuple[str, ...], Callable[..., tuple[list[Any], ...]]] = {}


def _extractor(fields: tuple[str, ...]) -> Callable[..., tuple[list[Any], ...]]:
    """A function taking a list of quotes apart into a list per field (symbol -> row).

    A comprehension per field, `[q.last for q in quotes]`, runs about twice as
    fast as `map(attrgetter("last"), quotes)`. Generated once per set of fields,
    which are struct field names, never the feed's text.
    """
    if fields not in _EXTRACTORS:
        assert all(f.isidentifier() for f in fields)
        parts = "".join(
            "[row(q.symbol) for q in quotes], " if f == "symbol" else f"[q.{f} for q in quotes], " for f in fields
        )
        namespace: dict[str, Any] = {}
        exec(f"def extract(quotes, row):\n    return ({parts})\n", namespace)  # noqa: S102
        _EXTRACTORS[fields] = namespace["extract"]
    return _EXTRACTORS[fields]
