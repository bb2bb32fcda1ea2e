"""A stateful NetScaler NITRO simulator (aiohttp) for tests, the demo, benchmarks and kind e2e."""
