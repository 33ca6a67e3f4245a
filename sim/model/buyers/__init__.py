"""The buyer kinds. Each class owns its kind's budget, appetite, screen, value, bid and terms;
adding a kind is a new class here and in :data:`BUYER_KINDS` (and its population count)."""

from sim.model.buyers.base import Buyer, BuyerTable
from sim.model.buyers.incubator import Incubator
from sim.model.buyers.mnc import MidSizePharma, Mnc
from sim.model.buyers.regional import RegionalLicensee

#: Kinds in the order their populations are created (and their names in ``population``).
BUYER_KINDS: tuple[type[Buyer], ...] = (Mnc, MidSizePharma, Incubator, RegionalLicensee)

__all__ = ["BUYER_KINDS", "Buyer", "BuyerTable", "Incubator", "MidSizePharma", "Mnc", "RegionalLicensee"]
