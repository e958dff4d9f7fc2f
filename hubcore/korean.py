"""Writing amounts the way Korean readers do, shared by the services (messages) and hubctl (tables)."""

from __future__ import annotations

UNITS = ((10**12, "조"), (10**8, "억"), (10**4, "만"))


def format_krw(amount: int, language: str = "ko") -> str:
    """Korean: 15억 원, 15억 3,000만 원, 1조 2,000억 원, 3,500만 원, 9,000원 (remainders under 10,000 won
    are dropped once a larger unit is present, as people write them). Other languages: ₩1,500,000,000."""
    if language != "ko":
        return f"-₩{-amount:,}" if amount < 0 else f"₩{amount:,}"
    sign, rest = ("-" if amount < 0 else ""), abs(amount)
    if rest < 10**4:
        return f"{sign}{rest:,}원"
    parts = []
    for unit, label in UNITS:
        count, rest = divmod(rest, unit)
        if count:
            parts.append(f"{count:,}{label}")
    return f"{sign}{' '.join(parts)} 원"
