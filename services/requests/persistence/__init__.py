"""The requests service's persistence adapters: the event store (`event_store`), the tables beside
it (`store`, migrated by services/requests/migrations/requests), the hash chain's write path
(`chain`), idempotency receipts (`receipts`), the side tables behind the application's repository
port (`side_tables`) and the development clock (`dev_clock`). Never imports the application, the
outbox, the consumers or the HTTP layer (import-linter)."""
