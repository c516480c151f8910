"""A Retail Pro Prism server that runs offline, for orderhub's invoicing and its tests.

It follows what is documented: Prism's session sign-in (``Auth-Nonce`` challenge,
``Auth-Nonce-Response``, ``Auth-Session``, a seat at a workstation through
``/v1/rest/sit``), the "Order to Invoice" API (``POST /api/v1/Document/Ordertoinvoice``)
and the "Inventory Transfer" (Manual Slip) API (``POST /api/v1/Transfer/Slip``) with their
field lengths (:mod:`orderhub.domain.retailpro_documents`). Where nothing was documented
(the error body, the inventory read path, duplicate handling) it chooses a plausible
shape and says so in the module that does it.

Entry points: :class:`orderhub.simulators.retailpro.simulator.Simulator`,
:func:`orderhub.simulators.retailpro.app.create_app`, the ``/_sim`` control API in
:mod:`orderhub.simulators.retailpro.control`, :func:`orderhub.simulators.retailpro.server.run`
and :func:`orderhub.simulators.retailpro.server.start_in_thread`, and
:func:`orderhub.simulators.retailpro.cli.add_cli` (``orderhub simulate retailpro``).
"""
