"""Unit conversions as named constants. Quantities are converted, never silently rescaled."""

from __future__ import annotations

# mass units, in tonnes
TONNES_PER = {
    "kg": 1e-3,
    "t": 1.0,
    "kt": 1e3,
    "thousand metric tons": 1e3,
    "Mt": 1e6,
}


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a mass between the units of TONNES_PER; an unknown unit raises, naming it."""
    for unit in (from_unit, to_unit):
        if unit not in TONNES_PER:
            raise KeyError(f"unknown mass unit {unit!r}; known: {sorted(TONNES_PER)}")
    return value * TONNES_PER[from_unit] / TONNES_PER[to_unit]


def cagr(start: float, end: float, years: float) -> float:
    """Compound annual growth rate in percent."""
    if start <= 0 or years <= 0:
        raise ValueError(f"CAGR needs a positive start value and period (got {start}, {years} years)")
    return ((end / start) ** (1.0 / years) - 1.0) * 100.0


def hhi(shares_pct) -> float:
    """Herfindahl-Hirschman index (0-10,000) of shares given in percent."""
    return float(sum(s * s for s in shares_pct))
