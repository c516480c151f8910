"""A Shopify store that runs offline: Admin GraphQL API, signed webhooks with retries, bulk query
operations with their JSONL result files, and an order generator.

Besides orders and products the API serves locations, inventory items and levels with
named quantities, ``inventorySetQuantities`` (compare-and-set, ``@idempotent`` keys),
collections by product type, refunds on orders and ``orderCancel`` (as a job).

Entry points: :func:`orderhub.simulators.shopify.server.run` (``orderhub simulate
shopify``), :func:`orderhub.simulators.shopify.server.start_in_thread` (tests and
the demo), :class:`orderhub.simulators.shopify.simulator.Simulator`, and the
``/_sim`` control API in :mod:`orderhub.simulators.shopify.control`.
"""
