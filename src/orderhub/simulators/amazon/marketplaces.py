"""The marketplaces the simulator knows: id, currency, sales channel, and its buyers' names and addresses.

Marketplace ids are Amazon's (developer-docs.amazon.com/sp-api/docs/marketplace-ids). Names and
streets are in the scripts buyers write them in, emoji included, so a client meets real text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country_code: str
    currency: str
    sales_channel: str
    ship_service_level: str
    names: tuple[str, ...]
    cities: tuple[tuple[str, str, str], ...]  # city, state or region, postal code
    streets: tuple[str, ...]
    phone_prefix: str
    tax_rate: str  # a rate for ItemTax


MARKETPLACES: dict[str, Marketplace] = {m.marketplace_id: m for m in (
    Marketplace("ATVPDKIKX0DER", "US", "USD", "Amazon.com", "Std US D2D Dom",
                ("Emily O'Connor", "María José Nguyễn", "James Smith-Jones 🚀", "Zoë Ångström"),
                (("New York", "NY", "10001"), ("San Francisco", "CA", "94103"), ("Austin", "TX", "78701")),
                ("350 Fifth Avenue", "1 Market Street, Apt 🏠 4", "742 Evergreen Terrace"), "+1 212 555 ", "0.0825"),
    Marketplace("A1PA6795UKMFR9", "DE", "EUR", "Amazon.de", "Std DE Dom",
                ("Jürgen Groß", "Käthe Schäfer", "Zoë Müller 🌻", "Øyvind Ærø"),
                (("Berlin", "Berlin", "10117"), ("München", "Bayern", "80331"), ("Köln", "NRW", "50667")),
                ("Friedrichstraße 43", "Königsallee 12", "Schloßstraße 7"), "+49 30 ", "0.19"),
    Marketplace("A1F83G8C2ARO7P", "GB", "GBP", "Amazon.co.uk", "Std UK Dom",
                ("Siobhán Ó Briain", "Dafydd ap Gruffydd", "Priya Patel ✨"),
                (("London", "Greater London", "SW1A 1AA"), ("Cardiff", "Wales", "CF10 1EP")),
                ("10 Downing Street", "1 Heol y Frenhines"), "+44 20 ", "0.20"),
    Marketplace("A1VC38T7YXB528", "JP", "JPY", "Amazon.co.jp", "Std JP Dom",
                ("山田 太郎", "佐藤 花子 🌸", "鈴木 一郎"),
                (("渋谷区", "東京都", "150-0002"), ("大阪市", "大阪府", "530-0001")),
                ("神南1-2-3", "梅田3-1-1"), "+81 3 ", "0.10"),
)}


def marketplace(marketplace_id: str) -> Marketplace:
    """The marketplace, or the US one for ids the simulator has no data for."""
    return MARKETPLACES.get(marketplace_id, MARKETPLACES["ATVPDKIKX0DER"])
