"""Drug assets as numpy columns, and their development from preclinical to approval.

Design notes: assets are not agents; they are rows of typed arrays owned by the model
(BAM-engine "roles"). ``rights[i, r]`` is the entity id that holds asset i in market r
(``REGIONS``): the originator until a territory is licensed, then the licensee; a
market is held by exactly one entity at a time, by construction. Development is a
sequence of stages; each month a funded programme accrues progress, and when the
stage's drawn duration is reached it moves on with the stage's success odds

    p(stage, area, q) = min(0.97, success[stage] * area_success[area] * exp(0.25 q))

or fails. ``q`` is latent quality (standard normal); it also scales peak sales. A programme
whose owner cannot fund the next, costlier stage (or is licensing it out) waits at that gate;
with ``assets.readout_at_gate`` its stage reads out first (``read_out``): it is held with
positive data, and its value counts that stage's odds as won.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from sim.scenarios.schema import AREAS, MODALITIES, NOVELTIES, REGIONS, STAGES, Scenario, Stage

N_REGIONS = len(REGIONS)
CN = REGIONS.index("CN")
EX_CN = np.array([r != "CN" for r in REGIONS])
US_EU_JP = np.array([r in ("US", "EU", "JP") for r in REGIONS])
APPROVED = int(Stage.approved)


class Status(IntEnum):
    active = 0
    failed = 1
    withdrawn = 2  # its biotech folded with the programme unlicensed


class AssetBook:
    """Columnar state of every asset; grows as new biotechs bring new assets."""

    INT_COLUMNS = {"originator": np.int32, "developer": np.int32, "stage": np.int8, "status": np.int8,
                   "area": np.int8, "modality": np.int8, "novelty": np.int8, "created": np.int32,
                   "approved_month": np.int32}
    FLOAT_COLUMNS = ("quality", "progress", "duration", "speed")
    BOOL_COLUMNS = ("global_data", "core", "in_play", "paused", "read_out")

    def __init__(self, scenario: Scenario, capacity: int = 2048):
        self.sc = scenario
        self.n = 0
        self.core_cut: float | None = None  # set by the starting pipeline when core_value_tilt > 0
        for name, dtype in self.INT_COLUMNS.items():
            setattr(self, name, np.full(capacity, -1, dtype=dtype))
        for name in self.FLOAT_COLUMNS:
            setattr(self, name, np.zeros(capacity, dtype=np.float64))
        for name in self.BOOL_COLUMNS:
            setattr(self, name, np.zeros(capacity, dtype=bool))
        self.rights = np.full((capacity, N_REGIONS), -1, dtype=np.int32)
        a = scenario.assets
        self.success = np.array([a.success[s] for s in STAGES[:-1]] + [1.0])
        self.area_success = np.array([a.area_success[x] for x in AREAS])
        self.duration_base = np.array([a.duration_months[s] for s in STAGES[:-1]] + [np.inf])
        self.cost = np.array([a.monthly_cost_usd[s] for s in STAGES])
        self.peak_area = np.array([a.peak_sales_usd[x] for x in AREAS])
        self.novelty_value = np.array([a.novelty_value[x] for x in NOVELTIES])
        self.region_share = np.array([a.region_value_share[r] for r in REGIONS])
        self.region_share = self.region_share / self.region_share.sum()

    # ------------------------------------------------------------------ creation
    def _grow(self, extra: int) -> None:
        need = self.n + extra
        cap = self.stage.size
        if need <= cap:
            return
        new_cap = max(need, cap * 2)
        for name in [*self.INT_COLUMNS, *self.FLOAT_COLUMNS, *self.BOOL_COLUMNS]:
            old = getattr(self, name)
            fill = -1 if name in self.INT_COLUMNS else 0
            arr = np.full(new_cap, fill, dtype=old.dtype)
            arr[:cap] = old
            setattr(self, name, arr)
        rights = np.full((new_cap, N_REGIONS), -1, dtype=np.int32)
        rights[:cap] = self.rights
        self.rights = rights

    def add(self, rng: np.random.Generator, owners: np.ndarray, stage: np.ndarray, month: int,
            innovation: float, china_speed: float, initial: bool = False) -> np.ndarray:
        """Create assets for ``owners`` (entity ids) at ``stage``; returns their ids.

        ``innovation`` (>= 0) shifts novelty odds toward first/best-in-class and raises
        mean quality: the ecosystem learns as it accumulates clinical experience.
        """
        k = owners.size
        self._grow(k)
        ids = np.arange(self.n, self.n + k)
        a = self.sc.assets
        self.originator[ids] = owners
        self.developer[ids] = owners
        self.stage[ids] = stage
        self.status[ids] = Status.active
        self.area[ids] = _draw(rng, a.area_mix, AREAS, k)
        self.modality[ids] = _draw(rng, a.modality_mix, MODALITIES, k)
        # Learning tilts novelty odds: weight of class j multiplied by exp(innovation * (1 - rank_j)).
        weights = np.array([a.novelty_mix[x] for x in NOVELTIES], dtype=float)
        tilt = np.exp(innovation * (1.5 - np.arange(len(NOVELTIES))))
        self.novelty[ids] = rng.choice(len(NOVELTIES), size=k, p=_normalise(weights * tilt))
        self.quality[ids] = rng.normal(0.3 * innovation, 1.0, size=k)
        self.global_data[ids] = rng.random(k) < a.global_data_share
        if a.core_value_tilt > 0:
            # Core programmes are the promising ones: those whose (noisy) potential clears the cut
            # that makes core_share of the starting pipeline core.
            potential = np.log(self.novelty_value[self.novelty[ids]]) + a.quality_sd * self.quality[ids]
            key = a.core_value_tilt * potential + rng.normal(0.0, 1.0, size=k)
            if self.core_cut is None:
                self.core_cut = float(np.quantile(key, 1.0 - a.core_share))
            self.core[ids] = key > self.core_cut
        else:
            self.core[ids] = rng.random(k) < a.core_share
        self.created[ids] = month
        self.speed[ids] = 1.0
        self.rights[ids, :] = owners[:, None]
        self.n += k
        self.start_stage(rng, ids, china_speed)
        # Assets present at the start are part-way through their stage.
        if initial:
            self.progress[ids] = rng.random(k) * np.minimum(self.duration[ids], 1e6)
        return ids

    def start_stage(self, rng: np.random.Generator, ids: np.ndarray, china_speed: float) -> None:
        """Draw the duration of the stage each asset has just entered."""
        stage = self.stage[ids].astype(int)
        base = self.duration_base[stage]
        # China-run early development is faster (ARC25); licensee-run speeds are in `speed`.
        early = stage <= Stage.phase2
        china_run = self.developer[ids] == self.originator[ids]
        factor = np.where(early & china_run, china_speed, 1.0) * self.speed[ids]
        self.duration[ids] = base * factor * rng.lognormal(0.0, 0.25, size=ids.size)
        self.progress[ids] = 0.0
        self.read_out[ids] = False

    # ------------------------------------------------------------------ derived values
    @property
    def ids(self) -> np.ndarray:
        return np.arange(self.n)

    def active_mask(self) -> np.ndarray:
        return self.status[: self.n] == Status.active

    def success_prob(self, ids: np.ndarray, stage: np.ndarray | None = None) -> np.ndarray:
        stage = self.stage[ids].astype(int) if stage is None else stage
        p = self.success[stage] * self.area_success[self.area[ids]] * np.exp(0.25 * self.quality[ids])
        return np.where(stage >= APPROVED, 1.0, np.minimum(p, 0.97))

    def pos_to_approval(self, ids: np.ndarray) -> np.ndarray:
        """Probability of reaching approval from the current stage (whose own odds are already
        won for a programme that has read out and waits at the gate to the next one)."""
        pos = np.ones(ids.size)
        stage = self.stage[ids].astype(int)
        done = self.read_out[ids]
        for s in range(APPROVED):
            pending = (stage < s) | ((stage == s) & ~done)
            pos *= np.where(pending, self.success_prob(ids, np.full(ids.size, s)), 1.0)
        return pos

    def years_to_launch(self, ids: np.ndarray) -> np.ndarray:
        stage = self.stage[ids].astype(int)
        remaining = np.zeros(ids.size)
        for s in range(APPROVED):
            remaining += np.where(stage < s, self.duration_base[s], 0.0)
        current = np.where(stage < APPROVED, np.maximum(self.duration[ids] - self.progress[ids], 0.0), 0.0)
        return (remaining + current) / 12.0

    def peak_sales(self, ids: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        q = self.quality[ids] if quality is None else quality
        return (self.peak_area[self.area[ids]] * self.novelty_value[self.novelty[ids]]
                * np.exp(self.sc.assets.quality_sd * q))

    def world_value(self, ids: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        """Risk-adjusted NPV of worldwide rights (US dollars), as a buyer with that read of quality sees it."""
        m = self.sc.market
        disc = (1.0 + m.discount_rate) ** (-self.years_to_launch(ids))
        return self.pos_to_approval(ids) * self.peak_sales(ids, quality) * m.product_value_multiple * disc

    def territory_share(self, mask: np.ndarray) -> np.ndarray:
        """Share of worldwide value in each territory (rows of a region mask)."""
        return mask.astype(float) @ self.region_share

    def package_value(self, ids: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Risk-adjusted value of each rights package: world value x its territories' share."""
        return self.world_value(ids) * self.territory_share(masks)


def _normalise(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w / w.sum()


def _draw(rng: np.random.Generator, mix: dict[str, float], labels: list[str], k: int) -> np.ndarray:
    weights = np.array([mix.get(x, 0.0) for x in labels], dtype=float)
    return rng.choice(len(labels), size=k, p=_normalise(weights))
