"""Shared helpers of the Python tests (imported as `support`)."""

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]


class Header:
    """A header with only a stamp."""

    def __init__(self, stamp):
        self.stamp = stamp


class Msg:
    """A message stamped `stamp` (any stamp stamp_sync reads)."""

    def __init__(self, stamp, data=None):
        self.header = Header(stamp)
        self.data = data

    def __repr__(self):
        return f"Msg({self.header.stamp!r})"
