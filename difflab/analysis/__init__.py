"""Analysis built on the interface: comparison, the high-precision oracle, timing, traces,
the catalogue of test functions, kink notes."""
