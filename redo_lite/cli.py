"""The pieces every command line of the project shares: one-line usage errors, and argument
types that say what they allow (``--size 33`` -> ``expected a power of two from 8 to 1024``)."""

from __future__ import annotations

import argparse
import math
import sys


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line: ``error: argument --size: ...``."""

    def error(self, message):
        from .files import printable

        text = " ".join(printable(f"error: {message} (see {self.prog} --help)").split())
        print(text, file=sys.stderr)
        raise SystemExit(2)


def whole(low: int, high: int):
    def parse(text: str) -> int:
        try:
            v = int(text.strip())
        except ValueError:
            v = None
        if v is None or not low <= v <= high:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low} to {high}, got {text!r}"
            )
        return v

    return parse


def power_of_two(low: int, high: int):
    def parse(text: str) -> int:
        try:
            v = whole(low, high)(text)
        except argparse.ArgumentTypeError:
            v = None
        if v is None or v & (v - 1):
            raise argparse.ArgumentTypeError(
                f"expected a power of two from {low} to {high} (8, 16, 32, ...), got {text!r}"
            )
        return v

    return parse


def positive(high: float):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not (0 < v <= high):
            raise argparse.ArgumentTypeError(
                f"expected a number above 0 and at most {high:g}, got {text!r}"
            )
        return v

    return parse
