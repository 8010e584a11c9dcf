"""The contracts between services: the event envelope, each topic's payloads, the topic registry."""
