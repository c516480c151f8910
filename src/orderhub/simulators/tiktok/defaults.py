"""The simulator's defaults, in a module light enough for the CLI to import when it starts."""

DEFAULT_PORT = 8740
DEFAULT_APP_KEY = "6orderhubsim"
DEFAULT_APP_SECRET = "orderhub-sim-secret"
DEFAULT_SEED = 7

TIMESTAMP_TOLERANCE_SECONDS = 300  # TikTok refuses a timestamp more than 5 minutes before now
ACCESS_TOKEN_SECONDS = 7 * 24 * 3600  # access tokens live about a week
REFRESH_TOKEN_SECONDS = 365 * 24 * 3600
ON_HOLD_SECONDS = 3600  # the buyer's remorse window before an order is AWAITING_SHIPMENT
UNPAID_CANCEL_SECONDS = 24 * 3600  # an order left unpaid this long is cancelled by the system
RTS_SLA_SECONDS = 2 * 24 * 3600  # ready-to-ship deadline after payment
TTS_SLA_SECONDS = 4 * 24 * 3600  # handed-to-carrier deadline after payment
MAX_BODY_BYTES = 1024 * 1024
MAX_PAGE_SIZE = 100
MAX_DETAIL_IDS = 50
DEFAULT_QPS = 50  # per operation and shop; TikTok states a limit on each API's page, not one number

# Webhook retries, in simulated seconds after each failed attempt: exponential backoff within
# 72 hours, as TikTok's webhooks overview describes (see samples/README.md).
WEBHOOK_RETRY_SCHEDULE = (60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 30720, 61440, 86400, 86400)
