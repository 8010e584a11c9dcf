"""Segmentation domain: pure logic (the SQL compiler of rules, membership decisions), no I/O."""
