"""Stores' POS terminals as a channel: the sales a terminal syncs through orderhub's POS sync API."""
