"""A TikTok Shop Partner API (version 202309) server that runs offline, for orderhub's tests and demo.

It follows what TikTok publishes: request signing (HMAC-SHA256 over app secret + path + sorted query +
body + app secret, :mod:`.signing`), the ``x-tts-access-token`` header and ``shop_cipher``, the token
endpoints, order search and detail, package shipping, cancellations, seller-initiated returns and refunds
(:mod:`.returns`), inventory, webhooks signed with
the ``Authorization`` header, and TikTok's ``{"code", "message", "request_id", "data"}`` envelope with
its error codes (:mod:`.errors`). Where TikTok documents nothing (a rate's exact number, some business
error codes) the module that decides says so; ``samples/README.md`` records every source.

Entry points: :class:`.simulator.Simulator`, :func:`.app.create_app`, the ``/_sim`` control API in
:mod:`.control`, :func:`.server.run` and :func:`.server.start_in_thread`, and :func:`.cli.add_cli`
(``orderhub simulate tiktok``).
"""
