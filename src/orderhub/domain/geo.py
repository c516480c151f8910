"""Distance on the Earth's surface, for routing rules that prefer or limit by proximity.

Great-circle (haversine) distance on a sphere of the mean Earth radius: within about
0.5% of the ellipsoidal distance, which is plenty to rank facilities and apply a
"within N km" limit.
"""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)

LatLon = tuple[float, float]


def haversine_km(a: LatLon, b: LatLon) -> float:
    """Kilometres between two (latitude, longitude) points given in degrees."""
    lat1, lon1 = radians(a[0]), radians(a[1])
    lat2, lon2 = radians(b[0]), radians(b[1])
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))
