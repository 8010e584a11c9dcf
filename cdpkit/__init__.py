"""The runtime kit every service uses: settings, logging, Kafka, database, metrics, health."""
