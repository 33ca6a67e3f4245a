"""Codes of firm kinds, programme statuses and stages, as enums (for names) and as plain ints.

Plain ints are what the vectorised policies compare arrays with: comparing a numpy array with an
enum member makes numpy look attributes up on the enum class, which costs microseconds a call.
"""

from enum import IntEnum

from sim.scenarios.schema import Stage


class Kind(IntEnum):
    """Firm kinds; names are the labels used in the deal ledger."""

    biotech = 0
    mnc = 1
    mid_size = 2
    incubator = 3
    regional = 4


class Status(IntEnum):
    active = 0
    failed = 1
    withdrawn = 2  # its biotech folded with the programme unlicensed
    lapsed = 3  # a product past its market exclusivity: generics take its sales


BIOTECH, MNC, MID_SIZE, INCUBATOR, REGIONAL = (int(k) for k in Kind)
ACTIVE, FAILED, WITHDRAWN, LAPSED = (int(s) for s in Status)
PRECLINICAL, PHASE1, PHASE2, PHASE3, FILED, APPROVED = (int(s) for s in Stage)
