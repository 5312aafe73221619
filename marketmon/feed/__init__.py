"""The wire, client side: the protocol's messages (`protocol.py`), the client that
follows a feed (`client.py`), and the `QuoteSink` it writes into (`sink.py`).
It knows no store, server, alert or screen: the sink is whatever the owner gives it."""
