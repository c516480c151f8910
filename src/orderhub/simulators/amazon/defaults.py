"""The simulator's defaults, in a module light enough for the CLI to import when it starts."""

DEFAULT_PORT = 8730
DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.orderhubsimulator"
DEFAULT_CLIENT_SECRET = "amzn1.oa2-cs.v1.orderhub-simulator-secret"
DEFAULT_SELLER_ID = "A1ORDERHUBSIM1"
DEFAULT_REFRESH_TOKEN = "Atzr|orderhub-simulator-seller-1"
DEFAULT_MARKETPLACE_ID = "ATVPDKIKX0DER"  # Amazon.com
ACCESS_TOKEN_SECONDS = 3600  # LWA access tokens live an hour (expires_in)
RESTRICTED_TOKEN_SECONDS = 3600  # restricted data tokens too (expiresIn)
VISIBILITY_DELAY_SECONDS = 120.0  # getOrders sees a change this long after it happened
FEED_QUEUE_SECONDS = 30.0  # a feed waits IN_QUEUE this long ...
FEED_PROCESSING_SECONDS = 60.0  # ... then is IN_PROGRESS this long before DONE
DOCUMENT_URL_SECONDS = 300  # a feed document's pre-signed URL works for five minutes
MAX_BODY_BYTES = 1_000_000  # API request bodies
MAX_DOCUMENT_BYTES = 10_000_000  # feed documents PUT to the pre-signed URL
NOTIFICATION_RETRY_SCHEDULE = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)
