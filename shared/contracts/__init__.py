"""Published and consumed message contracts: versioned pydantic models, separate from aggregate events."""
