"""Formatting of figures: ratios with the target next to them, and by how much a target is missed. Nothing here
asserts; the bench prints."""

from __future__ import annotations

#: figures of issue 12, measured on this machine before the work on it (req/s at 16 connections, list 20 messages)
ISSUE_RPS = {"memory": 751.0, "redis": 405.0}
RPS_FACTOR = {"memory": 2.0, "redis": 2.5}
ISSUE_CPU_PER_RUN_MS = 18.7


def verdict(value: float, target: float, higher_is_better: bool = False) -> str:
    met = value >= target if higher_is_better else value <= target
    if met:
        return "met"
    shortfall = 1 - value / target if higher_is_better else value / target - 1
    return f"MISSED by {shortfall * 100:.0f}%"


def ratio(value: float, base: float, target: float | None = None, higher_is_better: bool = False) -> str:
    """``x1.90 (target <= 2.5, met)``"""
    figure = value / base if base else float("inf")
    text = f"x{figure:.2f}"
    if target is not None:
        sign = ">=" if higher_is_better else "<="
        text += f" (target {sign} {target:g}, {verdict(figure, target, higher_is_better)})"
    return text


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"
