"""Argument types that reject bad values with a message naming the option and the range
(NaN and infinities included: every number an option takes is finite)."""
import argparse
import math


def _number(kind, name, low=None, high=None, low_open=False, high_open=False):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{name}: expected a finite number, got {text}")
        too_low = low is not None and (value <= low if low_open else value < low)
        too_high = high is not None and (value >= high if high_open else value > high)
        if too_low or too_high:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
            raise argparse.ArgumentTypeError(f"{name}: expected a value in {span}, got {text}")
        return value
    return parse


def positive_int(name):
    return _number(int, name, 1)


def non_negative_int(name):
    return _number(int, name, 0)


def positive_float(name):
    return _number(float, name, 0, low_open=True)


def non_negative_float(name):
    return _number(float, name, 0)


def fraction(name):
    """[0, 1)"""
    return _number(float, name, 0, 1, high_open=True)


def probability(name):
    """(0, 1]"""
    return _number(float, name, 0, 1, low_open=True)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``rnnlab train: error: ... (see --help)``."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
