"""Helpers for tests and benchmarks: throwaway real servers on loopback."""
