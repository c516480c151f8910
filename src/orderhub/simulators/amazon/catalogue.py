"""The products a simulated seller lists: SKU, ASIN, title and price, in many scripts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    sku: str
    asin: str
    title: str
    price: Decimal
    product_type: str


CATALOGUE: tuple[Product, ...] = (
    Product("TSH-ORG-M", "B0ORDHUB01", "Organic Cotton T-shirt 👕 (M)", Decimal("19.90"), "SHIRT"),
    Product("MUG-CAFE", "B0ORDHUB02", "Café Crème Mug ☕", Decimal("12.50"), "DRINKING_CUP"),
    Product("MUG-MSK", "B0ORDHUB03", "Кружка «Москва»", Decimal("9.99"), "DRINKING_CUP"),
    Product("TEA-MATCHA-50", "B0ORDHUB04", "抹茶 Matcha Tea 🍵 50 g", Decimal("24.00"), "TEA"),
    Product("SOAP-LAV", "B0ORDHUB05", "Χειροποίητο Σαπούνι Λεβάντα", Decimal("6.50"), "SOAP"),
    Product("SNK-NDU-42", "B0ORDHUB06", "Sneakers Ñandú 👟 42", Decimal("89.00"), "SHOES"),
    Product("SCF-HANBOK", "B0ORDHUB07", "한복 Silk Scarf", Decimal("35.00"), "SCARF"),
    Product("OIL-ARG-100", "B0ORDHUB08", "زيت الأرغان Argan Oil 100 ml", Decimal("27.50"), "SKIN_CARE_AGENT"),
)


def product(sku: str) -> Product | None:
    return next((p for p in CATALOGUE if p.sku == sku), None)
