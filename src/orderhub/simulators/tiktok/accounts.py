"""Apps, sellers, their shops, and the OAuth tokens the auth endpoints issue.

A seller authorises an app once (an auth code) and the token it gets covers every one of the
seller's shops; a shop-scoped call names the shop with its ``cipher``. Expiry is read on the
simulated clock; ``access_token_expire_in`` and ``refresh_token_expire_in`` are Unix times, as
TikTok sends them.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from orderhub.simulators.tiktok.clock import SimClock
from orderhub.simulators.tiktok.defaults import ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_SECONDS


@dataclass
class Shop:
    id: str
    name: str
    cipher: str
    region: str = "US"
    code: str = ""
    seller_type: str = "LOCAL"
    currency: str = "USD"

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "region": self.region, "seller_type": self.seller_type,
                "cipher": self.cipher, "code": self.code}


@dataclass
class Seller:
    open_id: str
    name: str
    region: str
    shops: list[Shop]
    auth_codes: set[str] = field(default_factory=set)


@dataclass
class Token:
    access_token: str
    refresh_token: str
    app_key: str
    seller: Seller
    access_expires: int
    refresh_expires: int
    revoked: bool = False


def _shop(raw: dict[str, Any], n: int) -> Shop:
    shop_id = str(raw.get("id") or f"74940496426424416{n:02d}")
    return Shop(id=shop_id, name=str(raw.get("name") or f"Shop {n}"),
                cipher=str(raw.get("cipher") or f"ROW_{secrets.token_urlsafe(18)}"),
                region=str(raw.get("region", "US")), code=str(raw.get("code") or f"USLC{shop_id[-6:]}"),
                currency=str(raw.get("currency", "USD")))


class Accounts:
    def __init__(self, clock: SimClock, apps: dict[str, str], sellers: list[dict[str, Any]]) -> None:
        self.clock = clock
        self.apps = dict(apps)
        self.sellers: list[Seller] = []
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()
        shop_n = 0
        for i, raw in enumerate(sellers):
            shops = []
            for shop_raw in raw.get("shops", []):
                shop_n += 1
                shops.append(_shop(shop_raw, shop_n))
            seller = Seller(open_id=str(raw.get("open_id") or f"open-{i + 1}-{secrets.token_hex(6)}"),
                            name=str(raw.get("name", f"Seller {i + 1}")), region=str(raw.get("region", "US")),
                            shops=shops, auth_codes={str(raw["auth_code"])} if raw.get("auth_code") else set())
            self.sellers.append(seller)
            if raw.get("access_token"):
                app_key = str(raw.get("app_key") or next(iter(self.apps)))
                self._issue(seller, app_key, access=str(raw["access_token"]),
                            refresh=str(raw.get("refresh_token") or f"refresh-{raw['access_token']}"))

    # -- look-ups ------------------------------------------------------------------------------------
    def shops(self) -> list[Shop]:
        return [shop for seller in self.sellers for shop in seller.shops]

    def shop(self, shop_id: str) -> Shop | None:
        return next((s for s in self.shops() if s.id == shop_id), None)

    def shop_by_cipher(self, seller: Seller, cipher: str) -> Shop | None:
        return next((s for s in seller.shops if s.cipher == cipher), None)

    def token(self, access_token: str) -> Token | None:
        with self._lock:
            return self._tokens.get(access_token)

    # -- OAuth -----------------------------------------------------------------------------------------
    def _issue(self, seller: Seller, app_key: str, *, access: str | None = None,
               refresh: str | None = None) -> Token:
        now = self.clock.now()
        token = Token(access_token=access or f"ROW_{secrets.token_urlsafe(32)}",
                      refresh_token=refresh or f"ROW_{secrets.token_urlsafe(32)}", app_key=app_key,
                      seller=seller, access_expires=now + ACCESS_TOKEN_SECONDS,
                      refresh_expires=now + REFRESH_TOKEN_SECONDS)
        with self._lock:
            self._tokens[token.access_token] = token
        return token

    def new_auth_code(self, seller_index: int = 0) -> str:
        code = f"ROW_{secrets.token_urlsafe(24)}"
        self.sellers[seller_index].auth_codes.add(code)
        return code

    def exchange(self, app_key: str, code: str) -> Token | None:
        """An auth code is good once, as TikTok's are."""
        for seller in self.sellers:
            if code in seller.auth_codes:
                seller.auth_codes.discard(code)
                return self._issue(seller, app_key)
        return None

    def refresh(self, app_key: str, refresh_token: str) -> Token | None:
        with self._lock:
            old = next((t for t in self._tokens.values() if t.refresh_token == refresh_token
                        and t.app_key == app_key and not t.revoked), None)
        if old is None or old.refresh_expires <= self.clock.now():
            return None
        old.revoked = True  # the old access token stops working once refreshed
        return self._issue(old.seller, app_key)

    def expire(self, access_token: str | None = None) -> int:
        """Make one token (or all) expired now; the number expired."""
        now = self.clock.now()
        with self._lock:
            hit = [t for t in self._tokens.values() if access_token in (None, t.access_token)]
            for token in hit:
                token.access_expires = now
        return len(hit)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            tokens = [{"access_token": t.access_token, "seller": t.seller.name, "app_key": t.app_key,
                       "access_token_expire_in": t.access_expires, "revoked": t.revoked}
                      for t in self._tokens.values()]
        return {"apps": sorted(self.apps), "tokens": tokens,
                "sellers": [{"open_id": s.open_id, "name": s.name, "region": s.region,
                             "shops": [shop.describe() for shop in s.shops]} for s in self.sellers]}
