"""The local stack without Docker: Kafka, PostgreSQL, Redis and every service as supervised processes."""
