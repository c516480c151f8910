"""The simulator's defaults, in a module light enough for the CLI to import when it starts."""

DEFAULT_PORT = 8730
DEFAULT_CLIENT_ID = "orderhub-walmart-client"
DEFAULT_CLIENT_SECRET = "orderhub-walmart-secret"
DEFAULT_SELLER_NAME = "orderhub demo seller"

TOKEN_TTL_SECONDS = 900  # "Access Token: 15 minutes (900 seconds)" (Token API reference)
ACK_DEADLINE_SECONDS = 4 * 3600  # "Walmart requires a seller to acknowledge orders within four hours of receipt"
ORDERS_DEFAULT_LIMIT = 100  # getAllOrders / getAllReleasedOrders: limit default "100"
ORDERS_MAX_LIMIT = 200  # "Cannot be larger than 200."
CREATED_START_DEFAULT_DAYS = 7  # createdStartDate: "Default is current date - 7 days"
ORDERS_MAX_AGE_DAYS = 180  # "Only orders created in last 180 days ... can be fetched"
FEED_DETAILS_MAX_LIMIT = 50  # getFeedItemStatus: limit "cannot be more than 50 entities"
FEED_IN_PROGRESS_AFTER_SECONDS = 60.0  # simulated: RECEIVED -> INPROGRESS
FEED_PROCESSED_AFTER_SECONDS = 300.0  # simulated: INPROGRESS -> PROCESSED (Walmart quotes up to 30 minutes)
MAX_BODY_BYTES = 5 * 1024 * 1024  # "Inventory | POST Bulk Inventory Update | 10 per hour | 5MB" (throttling page)
