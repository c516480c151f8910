"""A Walmart Marketplace API that runs offline, for orderhub's Walmart channel and its tests.

It follows Walmart's published OpenAPI documents and reference pages (kept as data in
``samples/``, with their sources in ``samples/README.md``): the Token API, orders (released
and all, with the ``nextCursor`` query string, acknowledge, ship, cancel, refund),
single-SKU inventory and bulk inventory feeds processed over simulated time, per-seller
throttling with ``X-Current-Token-Count``/``X-Next-Replenishment-Time``, and Walmart's
``{"errors": [...]}`` error body. Where nothing was published it says so in the module that
chooses.

Entry points: :class:`orderhub.simulators.walmart.simulator.Simulator`,
:func:`orderhub.simulators.walmart.app.create_app`, the ``/_sim`` control API in
:mod:`orderhub.simulators.walmart.control`, :func:`orderhub.simulators.walmart.server.run`
and :func:`orderhub.simulators.walmart.server.start_in_thread`, and
:func:`orderhub.simulators.walmart.cli.add_cli` (``orderhub simulate walmart``).
"""
