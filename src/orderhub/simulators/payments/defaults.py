"""The simulator's defaults, in a module light enough for the CLI to import when it starts."""

DEFAULT_API_KEY = "sk_test_demo"
DEFAULT_PORT = 8710
DEFAULT_RATE = 100.0  # requests a second per API key
