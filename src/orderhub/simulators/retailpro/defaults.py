"""The simulator's defaults, in a module light enough for the CLI to import when it starts."""

DEFAULT_PORT = 8720
DEFAULT_USER = "sysadmin"
DEFAULT_PASSWORD = "sysadmin"
DEFAULT_WORKSTATION = "ORDERHUB"
DEFAULT_SESSION_IDLE_SECONDS = 1800.0  # an idle Auth-Session expires after this long
NONCE_TTL_SECONDS = 60.0  # an Auth-Nonce must be answered within this long
