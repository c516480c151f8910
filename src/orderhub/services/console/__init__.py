"""The web console's services: who may use it (accounts, sessions)."""
