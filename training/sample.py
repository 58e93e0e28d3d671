"""`sample` data: a seeded, documented generator of a rankings-like labelled dataset for offline use.

THE COUNTRY LABELS IT PRODUCES ARE SYNTHETIC. They come from a known generative model, not from
charts, so a model trained on them says nothing about real listeners; the point is to exercise the
whole pipeline offline and to give the model's accuracy a known ceiling.

Generative model (all draws from `numpy.random.default_rng(seed)`):

1. Songs. Either the real songs of a properties table (e.g. the lab's `song_properties.parquet`) or
   `songs` synthetic songs whose 13 features follow marginals fitted by eye to the lab's table
   (Beta distributions for the 0..1 features, log-normal duration, uniform key, ...).
2. Country given song. With z = (x - CENTER) / SCALE (fixed constants, below), the probability that a
   chart row of the song is in country c is softmax_c(sharpness * tanh(z) @ W[:, c] + log prior_c),
   W ~ N(0, 1) scaled per feature by FEATURE_WEIGHT, prior_c ~ 1 / (rank_c + 2)^0.7 (big markets
   chart more rows). p(country | features) is known exactly, so the Bayes-optimal accuracy of any
   test set is mean(max_c p(c | x)).
3. Rows. Each row picks a song with Zipf-like popularity (1 / (rank + 20)^0.9), then a country from
   p(. | song). Filler columns (snapshot_date, daily_rank, popularity) are uniform noise. A small
   fraction (MISSING_FRACTION) of rows get no country, like the upstream "global" chart rows, so the
   missing-value path is exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from training.features import FEATURES, SONG_ID, TARGET

if TYPE_CHECKING:
    import pandas as pd

#: Country codes in the order the generator gives them market share (first = biggest).
COUNTRY_CODES: tuple[str, ...] = (
    "US", "GB", "DE", "BR", "MX", "FR", "ES", "IT", "JP", "CA", "AU", "NL", "SE", "PL", "IN",
    "KR", "AR", "TR", "NO", "ZA", "CO", "CL", "PH", "ID", "BE", "AT", "CH", "DK", "FI", "IE",
    "PT", "NZ", "SG", "MY", "TH", "VN", "EG", "MA", "NG", "SA",
)  # fmt: skip
DEFAULT_COUNTRIES = 20
DEFAULT_ROWS = 100_000
DEFAULT_SONGS = 14_245  # the lab's song table
MISSING_FRACTION = 0.002
SHARPNESS = 2.0

# Reference centre / scale per feature (about the lab table's median and spread).
CENTER = np.array([0.5, 185_000, 0.68, 0.65, 5.5, -7.0, 0.5, 0.10, 0.25, 0.05, 0.17, 0.54, 122.0])
SCALE = np.array([0.5, 55_000, 0.14, 0.17, 3.5, 3.0, 0.5, 0.10, 0.25, 0.15, 0.13, 0.23, 28.0])
# How strongly each feature moves the country (key and liveness barely matter).
FEATURE_WEIGHT = np.array([1.0, 0.6, 1.0, 1.0, 0.1, 0.7, 0.4, 1.0, 1.0, 0.6, 0.2, 1.0, 0.7])


@dataclass(frozen=True)
class SampleOracle:
    """The generator's exact p(country | features): the Bayes-optimal classifier of `sample` data."""

    countries: tuple[str, ...]
    weights: np.ndarray  # (13, n_countries)
    log_prior: np.ndarray  # (n_countries,)

    def proba(self, features: np.ndarray) -> np.ndarray:
        """p(country | x) for an (n, 13) array of raw features, columns in FEATURES order."""
        logits = SHARPNESS * np.tanh((features - CENTER) / SCALE) @ self.weights + self.log_prior
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def bayes_accuracy(self, features: np.ndarray) -> float:
        """Expected accuracy of the Bayes-optimal rule on rows with these features (exact, no noise)."""
        if len(features) == 0:
            return float("nan")
        return float(self.proba(features).max(axis=1).mean())


@dataclass(frozen=True)
class SampleData:
    """The two tables the generator produces (same columns as upstream) and its oracle."""

    properties: pd.DataFrame
    rankings: pd.DataFrame
    oracle: SampleOracle


def make_oracle(n_countries: int, seed: int) -> SampleOracle:
    """The generative model for `n_countries` countries (the first ones of COUNTRY_CODES)."""
    rng = np.random.default_rng([seed, n_countries, 1])
    countries = COUNTRY_CODES[:n_countries]
    weights = rng.standard_normal((len(FEATURES), n_countries)) * FEATURE_WEIGHT[:, None]
    prior = 1.0 / (np.arange(n_countries) + 2.0) ** 0.7
    return SampleOracle(countries, weights, np.log(prior / prior.sum()))


def synthetic_songs(n_songs: int, rng: np.random.Generator) -> pd.DataFrame:
    """`n_songs` songs with realistic feature marginals and ids `sample00000000000000001`..."""
    import pandas as pd

    n = n_songs
    instrumental = rng.random(n) < 0.12
    columns = {
        SONG_ID: [f"sample{i:016d}" for i in range(n)],
        "is_explicit": rng.random(n) < 0.33,
        "duration_ms": np.round(rng.lognormal(np.log(181_000), 0.28, n)).astype(np.int64),
        "danceability": rng.beta(6.9, 3.2, n),
        "energy": rng.beta(4.2, 2.3, n),
        "key": rng.integers(0, 12, n),
        "loudness": np.clip(rng.normal(-7.1, 3.0, n), -40.0, 3.0),
        "mode": (rng.random(n) < 0.51).astype(np.int64),
        "speechiness": rng.beta(0.93, 6.8, n),
        "acousticness": rng.beta(0.62, 1.6, n),
        "instrumentalness": np.where(instrumental, rng.beta(0.5, 2.0, n), rng.random(n) * 1e-4),
        "liveness": 0.014 + 0.97 * rng.beta(1.5, 7.0, n),
        "valence": rng.beta(2.0, 1.7, n),
        "tempo": np.clip(rng.normal(122.0, 28.0, n), 50.0, 220.0),
    }
    return pd.DataFrame(columns)


def make_sample(
    rows: int = DEFAULT_ROWS,
    countries: int = DEFAULT_COUNTRIES,
    seed: int = 0,
    properties: pd.DataFrame | None = None,
    songs: int = DEFAULT_SONGS,
) -> SampleData:
    """Generate a rankings table of `rows` rows over `countries` countries (labels are SYNTHETIC).

    With `properties` (a song properties table), its songs and real audio features are used;
    otherwise `songs` synthetic songs are generated.
    """
    if not 2 <= countries <= len(COUNTRY_CODES):
        raise ValueError(f"countries must be between 2 and {len(COUNTRY_CODES)}, got {countries}")
    if rows < 1 or songs < 1:
        raise ValueError("rows and songs must be positive")
    rng = np.random.default_rng([seed, 2])
    oracle = make_oracle(countries, seed)
    songs_frame = synthetic_songs(songs, rng) if properties is None else properties
    rankings = _rankings(songs_frame, rows, oracle, rng)
    return SampleData(songs_frame, rankings, oracle)


def _rankings(songs: pd.DataFrame, rows: int, oracle: SampleOracle, rng: np.random.Generator) -> pd.DataFrame:
    import pandas as pd

    features = songs[list(FEATURES)].to_numpy(np.float64)
    features = np.where(np.isnan(features), CENTER, features)  # songs with gaps still get labels
    popularity = 1.0 / (rng.permutation(len(songs)) + 20.0) ** 0.9
    song_idx = rng.choice(len(songs), size=rows, p=popularity / popularity.sum())
    cumulative = np.cumsum(oracle.proba(features), axis=1)
    draws = rng.random(rows)
    country_idx = np.minimum((cumulative[song_idx] < draws[:, None]).sum(axis=1), len(oracle.countries) - 1)
    country = np.asarray(oracle.countries, dtype=object)[country_idx]
    country[rng.random(rows) < MISSING_FRACTION] = None
    start = np.datetime64("2023-10-18")
    return pd.DataFrame(
        {
            SONG_ID: songs[SONG_ID].to_numpy()[song_idx],
            TARGET: country,
            "snapshot_date": start + rng.integers(0, 365, rows).astype("timedelta64[D]"),
            "daily_rank": rng.integers(1, 51, rows),
            "popularity": rng.integers(0, 101, rows),
        }
    )
