"""The market state: one polars frame of instruments (`state.Store`), the batch of
quotes waiting for a flush (`pending_batch.py`, `columns.py` + `_columns.c`),
where a flush must cut it (`flush_cuts.py`), the few-rows path (`few_rows.py`)
and 1-minute bars (`bars.py`). Implements `feed.sink.QuoteSink`."""
