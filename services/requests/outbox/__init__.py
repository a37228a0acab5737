"""The requests service's outbox: the event store's notification log as published messages
(`publishing`: `seller-support.requests.v1`'s data, chain hash, traceparent) and the relay that
puts them on Kafka (`relay`). Reads the event store; never imports the application's use cases, the
consumers or the HTTP layer (import-linter)."""
