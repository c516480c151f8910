"""orderhub: an open-source order hub for omnichannel retail."""

__version__ = "0.1.0"
