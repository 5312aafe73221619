"""The publishing side: the protocol server and its coalescing queues, the desk
gateway, bridges to public quote sources (`sources/`), recordings, the bundled
demo day and the synthetic full market. Uses `feed/` (protocol, client), never
the store, the alerts or the screen."""
