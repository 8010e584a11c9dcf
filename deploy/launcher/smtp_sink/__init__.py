"""The local SMTP sink that `make run` and the tests start (see `sink.py`)."""
