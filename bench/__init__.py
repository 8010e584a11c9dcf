"""On-demand benchmarks (not part of the test suite): `python -m bench.<name>`. See bench/README.md."""
