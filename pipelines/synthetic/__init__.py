"""A SYNTHETIC database for benchmarks and scale tests: seeded 1-minute bars, the seed story, [sample] events.

Not what a user opens: `tickerwire demo` loads the bundled real sample (pipelines/demo.py).

Everything here is synthetic except the anchors: prices are a seeded random walk pinned to the
seed-001 ticker strip, and the news records are short paraphrases of the seed documents. No
price reaction is put around any event: the price paths are drawn without looking at the events,
so an event study on the demo should find nothing (and the tests check that it does not).
"""

from pipelines.synthetic.data import ANCHOR_BAR_TS, DATASET, DEFAULT_SEED, SEED_EVENT, STRIP
from pipelines.synthetic.simulator import simulate_bars, tick_decimals
from pipelines.synthetic.writer import DemoStats, build_synthetic

__all__ = [
    "ANCHOR_BAR_TS",
    "DATASET",
    "DEFAULT_SEED",
    "SEED_EVENT",
    "STRIP",
    "DemoStats",
    "build_synthetic",
    "simulate_bars",
    "tick_decimals",
]
