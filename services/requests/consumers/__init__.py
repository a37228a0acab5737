"""The requests service's message consumers: upstream order and shipment facts from Kafka
(`upstream`: `orders.v1`, `shipments.v1`) applied through the application's one table of upstream
fact handlers. Never imports the HTTP layer (import-linter)."""
