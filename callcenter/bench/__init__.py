"""Benchmarks: figures printed as JSON, never asserted by tests."""
