"""Amazon's Selling Partner API (SP-API) and Login with Amazon, offline, for orderhub's tests and demo.

It follows Amazon's published models and schemas (kept with their sources in ``samples/``):
LWA token exchange; the Orders API v0 (getOrders with its filters, paging and visibility delay,
getOrder, getOrderItems, buyer data behind restricted data tokens, confirmShipment); the Tokens
API; the Listings Items API 2021-08-01 (patch and read ``fulfillment_availability``); the Feeds
API 2021-06-30 with pre-signed document URLs and ``JSON_LISTINGS_FEED`` processing reports;
ORDER_CHANGE notifications in an EventBridge envelope; per-operation usage plans answered with
429 ``QuotaExceeded``; failure injection; and a simulated clock.

Entry points: :class:`orderhub.simulators.amazon.simulator.Simulator`,
:func:`orderhub.simulators.amazon.app.create_app`, the ``/_sim`` control API in
:mod:`orderhub.simulators.amazon.control`, :func:`orderhub.simulators.amazon.server.run` and
:func:`orderhub.simulators.amazon.server.start_in_thread`, and
:func:`orderhub.simulators.amazon.cli.add_cli` (``orderhub simulate amazon``).
"""
