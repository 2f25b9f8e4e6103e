"""argparse value types shared by the command lines (``rmnet`` and its sub-commands' own
``add_arguments``), so every command refuses a bad value with the same message."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer >= 1 (thread counts, pixel budgets); argparse shows the message on error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value
