"""A card payment gateway that runs offline, modelled on Stripe's documented API conventions.

It is not Stripe and does not claim to be: it follows the conventions orderhub
relies on (bearer API keys, ``{"error": {...}}`` bodies with ``type``/``code``/
``param``, ``Idempotency-Key`` replay, 429 with ``Retry-After``, ``Request-Id``)
for a small authorise / void / capture API under ``/v1/authorizations``.

Entry points: :func:`orderhub.simulators.payments.app.create_app`,
:class:`orderhub.simulators.payments.gateway.Gateway`, the ``/_sim`` control API
in :mod:`orderhub.simulators.payments.control`,
:func:`orderhub.simulators.payments.server.run` and
:func:`orderhub.simulators.payments.server.start_in_thread`, and
:func:`orderhub.simulators.payments.cli.add_cli` (``orderhub simulate payments``).

Built-in test amount (like Stripe's test cards, no setup needed): when
``Gateway.magic_amounts`` is on (the default), an authorisation whose amount ends
in ``.51`` (``10.51``, ``0.51``) is declined with ``insufficient_funds``. Rules
added with ``POST /_sim/rules`` are checked first.
"""
