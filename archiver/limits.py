"""Bounds on what hostile input may cost: a small compressed file must not take the
machine's memory, disk or time before archiver can object."""
from __future__ import annotations

EXPANSION_RATIO = 100  # real captures and bags compress a few times over; a bomb, a thousand
MIN_EXPANSION = 1 << 30  # below this, any expansion is allowed


def expansion_limit(compressed: int) -> int:
    """How many bytes a compressed input of `compressed` bytes may expand to."""
    return max(MIN_EXPANSION, EXPANSION_RATIO * compressed)


def expansion_refusal(compressed: int, expanded: int, at_least: bool = False) -> str:
    return (f"{compressed} bytes expanding to {'more than ' if at_least else ''}{expanded} bytes, past the "
            f"limit of {expansion_limit(compressed)} ({EXPANSION_RATIO} times the size, at least "
            f"{MIN_EXPANSION >> 30} GiB): refused as a compression bomb")
