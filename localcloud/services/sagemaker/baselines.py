"""Model baselines: what a version's requests look like, the documents a pipeline's QualityCheck step
would leave in S3, and drift of the served data over virtual time.

A scenario gives a version a ``baseline`` (``models.<group/version>.baseline``): its input features,
in CSV column order (numerical: a normal distribution; categorical: shares of its values) and,
optionally, its model quality (``quality``: binary classification metrics). From it:

- **Documents**, written when the package is registered, in Model Monitor's formats:

  - Data quality ``statistics.json`` (schema: "Schema for Statistics (statistics.json file)",
    https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-statistics.html and
    https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-statistics.html):
    ``version``, ``dataset.item_count`` and per feature ``name``, ``inferred_type`` and either
    ``numerical_statistics`` (``common {num_present, num_missing}``, ``mean``, ``sum``, ``std_dev``,
    ``min``, ``max``, ``distribution.kll {buckets [{lower_bound, upper_bound, count}], sketch
    {parameters {c, k}, data [[...]]}}``) or ``string_statistics`` (``common``, ``distinct_count``,
    ``distribution.categorical.buckets [{value, count}]``). "By default, the distribution is
    materialized in 10 buckets" (same pages). Here the baseline dataset is the version's
    distribution itself, as if 10,000 rows were drawn: ``min``/``max`` are ``mean -/+ 4 std``, the
    10 equal-width buckets hold the normal's mass between them (integers summing to
    ``item_count``), the KLL sketch is one level of 200 values at evenly spaced quantiles, with the
    parameters the prebuilt container writes (``c`` 0.64, ``k`` 2048.0). The guide names the
    categorical statistic ``distinct_count`` (the number of distinct values), which is what is
    written.
  - Data quality ``constraints.json`` ("Schema for Constraints (constraints.json file)",
    https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html): per
    feature ``name``, ``inferred_type``, ``completeness`` and ``num_constraints.is_non_negative``
    (true only when ``mean - 4 std >= 0``, the baseline's minimum) or ``string_constraints.domains``
    (the categories); ``monitoring_config`` with constraint evaluation and metrics enabled, type and
    domain checks at 1.0 (the values the prebuilt container suggests for a clean baseline) and
    ``distribution_constraints`` (comparison enabled, threshold 0.1, method ``Robust``, categorical
    threshold 0.1, categorical drift method ``LInfinity``, the documented default).
  - With ``quality``, model quality ``statistics.json`` (``binary_classification_metrics``: each of
    accuracy, auc, f1, precision, recall as ``{value, standard_deviation}``, "Model quality metrics
    and Amazon CloudWatch monitoring",
    https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html) and
    ``constraints.json`` (``binary_classification_constraints``: each metric ``{threshold,
    comparison_operator: LessThanThreshold}``, threshold 0.1 below the value, as the suggested
    constraints of a model quality baseline job name them, same guide, "Create a model quality
    baseline"). A metric the scenario does not give is derived from the accuracy and the
    version's ``positiveRate`` as the simulator labels (:meth:`Quality.values`): the simulated
    model answers hard labels (0/1), for which the ROC curve has one operating point and AUC
    equals balanced accuracy. ``standard_deviation`` is 0.01 for every metric.

  The package's ``DriftCheckBaselines`` point at them in the API's shape (``ModelDataQuality`` and
  ``ModelQuality``, each ``{Statistics, Constraints}`` as ``MetricsSource {ContentType, S3Uri}``,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DriftCheckBaselines.html), and so do
  its ``ModelMetrics`` (``ModelDataQuality``, ``ModelQuality``), as a pipeline's ``RegisterModel``
  step sets them from its QualityCheck steps.

- **Rows**: a captured request of a version with a baseline sends one value per feature, drawn from
  the request's id: a uniform ``u`` per feature (its own hash of the event id and the feature name),
  numerical ``NormalDist(mean, std).inv_cdf(u)`` to 2 decimals, categorical the value whose
  cumulative share interval holds ``u``. The same request drawn from a drifted distribution moves
  with the drift (same ``u``).

- **Drift**: a scenario's ``drift`` step changes, from its time on, the distributions of some
  features of a version (``mean``/``std`` of a numerical one, all the ``categories`` of a
  categorical one, which may name values the baseline never saw) and/or the accuracy of its labels
  (``localcloud/services/sagemaker/groundtruth.py``). Later steps win, per feature.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any

ITEM_COUNT = 10_000  # rows of the (virtual) baseline dataset
KLL_BUCKETS = 10
SKETCH_VALUES = 200
SKETCH_PARAMETERS = {"c": 0.64, "k": 2048.0}
SPREAD = 4.0  # min and max of a numerical feature: mean -/+ SPREAD std
METRIC_STANDARD_DEVIATION = 0.01
CONSTRAINT_MARGIN = 0.1  # a quality constraint's threshold lies this far below the baseline's value
BINARY_METRICS = ("accuracy", "auc", "f1", "precision", "recall")
CONTENT_TYPE = "application/json"
MONITORING_CONFIG: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}
_U_MIN, _U_MAX = 1e-9, 1.0 - 1e-9


@dataclass(frozen=True)
class Feature:
    """One input column: numerical (``mean``, ``std``) or categorical (``categories``: value -> share)."""

    name: str
    mean: float | None = None
    std: float | None = None
    categories: tuple[tuple[str, float], ...] = ()

    @property
    def numerical(self) -> bool:
        return not self.categories

    def draw(self, u: float) -> str:
        """The value at uniform ``u`` (clamped into the open unit interval), as the CSV carries it."""
        u = min(max(u, _U_MIN), _U_MAX)
        if self.numerical:
            assert self.mean is not None and self.std is not None
            return f"{NormalDist(self.mean, self.std).inv_cdf(u):.2f}"
        cumulative = 0.0
        for value, share in self.categories:
            cumulative += share
            if u < cumulative:
                return value
        return self.categories[-1][0]  # shares sum to 1 within rounding


@dataclass(frozen=True)
class Quality:
    """A binary classifier's baseline metrics (``accuracy`` always; the others derived if not given)."""

    accuracy: float
    metrics: tuple[tuple[str, float], ...] = ()  # the metrics the scenario gave besides accuracy
    problem: str = "binary"
    positive_rate: float = 0.2  # the share of requests the version labels 1 (models.<v>.positiveRate)

    def values(self) -> dict[str, float]:
        """The metrics of a version that labels ``positive_rate`` of the requests 1 and is right on
        ``accuracy`` of them whatever the label (the simulator's labels): per request, TP = p·a,
        FP = p·(1-a), FN = (1-p)(1-a), TN = (1-p)·a. AUC of hard labels is the balanced accuracy."""
        p, a = self.positive_rate, self.accuracy
        tp, fp, fn, tn = p * a, p * (1 - a), (1 - p) * (1 - a), (1 - p) * a
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        specificity = tn / (tn + fp) if tn + fp else 0.0
        derived = {
            "accuracy": a,
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "auc": (recall + specificity) / 2,
        }
        given = dict(self.metrics)
        return {name: round(given.get(name, derived[name]), 6) for name in BINARY_METRICS}


@dataclass(frozen=True)
class Baseline:
    features: tuple[Feature, ...]
    quality: Quality | None = None


@dataclass(frozen=True)
class FeatureChange:
    """What a drift step changes in one feature (None: unchanged)."""

    mean: float | None = None
    std: float | None = None
    categories: tuple[tuple[str, float], ...] | None = None


def feature_row(event_id: str, features: Sequence[Feature]) -> str:
    """The CSV row a request sends: one value per feature, each drawn from the request's id."""
    return ",".join(feature.draw(uniform(event_id, feature.name)) for feature in features)


def uniform(event_id: str, purpose: str) -> float:
    """A uniform number in [0, 1) drawn from a request's id for one purpose (a feature, a label)."""
    digest = hashlib.blake2b(f"{event_id}/{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# --- documents ---------------------------------------------------------------------------------
def _apportion(weights: Sequence[float], total: int) -> list[int]:
    """Integers proportional to ``weights`` that sum to ``total`` (largest remainders)."""
    mass = sum(weights)
    raw = [w / mass * total for w in weights] if mass > 0 else [total / len(weights)] * len(weights)
    counts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _numerical_statistics(feature: Feature) -> dict[str, Any]:
    assert feature.mean is not None and feature.std is not None
    normal = NormalDist(feature.mean, feature.std)
    low, high = feature.mean - SPREAD * feature.std, feature.mean + SPREAD * feature.std
    width = (high - low) / KLL_BUCKETS
    edges = [low + i * width for i in range(KLL_BUCKETS)] + [high]
    counts = _apportion(
        [normal.cdf(edges[i + 1]) - normal.cdf(edges[i]) for i in range(KLL_BUCKETS)], ITEM_COUNT
    )
    sketch = [normal.inv_cdf((i + 0.5) / SKETCH_VALUES) for i in range(SKETCH_VALUES)]
    return {
        "common": {"num_present": ITEM_COUNT, "num_missing": 0},
        "mean": feature.mean,
        "sum": feature.mean * ITEM_COUNT,
        "std_dev": feature.std,
        "min": low,
        "max": high,
        "distribution": {
            "kll": {
                "buckets": [
                    {"lower_bound": edges[i], "upper_bound": edges[i + 1], "count": float(counts[i])}
                    for i in range(KLL_BUCKETS)
                ],
                "sketch": {"parameters": dict(SKETCH_PARAMETERS), "data": [sketch]},
            }
        },
    }


def _string_statistics(feature: Feature) -> dict[str, Any]:
    counts = _apportion([share for _, share in feature.categories], ITEM_COUNT)
    return {
        "common": {"num_present": ITEM_COUNT, "num_missing": 0},
        "distinct_count": float(len(feature.categories)),
        "distribution": {
            "categorical": {
                "buckets": [
                    {"value": value, "count": float(count)}
                    for (value, _), count in zip(feature.categories, counts, strict=True)
                ]
            }
        },
    }


def data_quality_statistics(baseline: Baseline) -> dict[str, Any]:
    features = []
    for feature in baseline.features:
        if feature.numerical:
            features.append(
                {
                    "name": feature.name,
                    "inferred_type": "Fractional",
                    "numerical_statistics": _numerical_statistics(feature),
                }
            )
        else:
            features.append(
                {
                    "name": feature.name,
                    "inferred_type": "String",
                    "string_statistics": _string_statistics(feature),
                }
            )
    return {"version": 0.0, "dataset": {"item_count": ITEM_COUNT}, "features": features}


def data_quality_constraints(baseline: Baseline) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for feature in baseline.features:
        entry: dict[str, Any] = {"name": feature.name, "completeness": 1.0}
        if feature.numerical:
            assert feature.mean is not None and feature.std is not None
            entry["inferred_type"] = "Fractional"
            entry["num_constraints"] = {"is_non_negative": feature.mean - SPREAD * feature.std >= 0}
        else:
            entry["inferred_type"] = "String"
            entry["string_constraints"] = {"domains": [value for value, _ in feature.categories]}
        features.append(entry)
    return {"version": 0.0, "features": features, "monitoring_config": copy.deepcopy(MONITORING_CONFIG)}


def model_quality_statistics(quality: Quality) -> dict[str, Any]:
    return {
        "version": 0.0,
        "binary_classification_metrics": {
            name: {"value": value, "standard_deviation": METRIC_STANDARD_DEVIATION}
            for name, value in quality.values().items()
        },
    }


def model_quality_constraints(quality: Quality) -> dict[str, Any]:
    return {
        "version": 0.0,
        "binary_classification_constraints": {
            name: {
                "threshold": round(max(0.0, value - CONSTRAINT_MARGIN), 10),
                "comparison_operator": "LessThanThreshold",
            }
            for name, value in quality.values().items()
        },
    }


@dataclass(frozen=True)
class BaselineDocuments:
    """What registering a package with a baseline writes and sets."""

    objects: dict[str, dict[str, Any]]  # s3 URI -> JSON document
    drift_check_baselines: dict[str, Any]  # CreateModelPackage DriftCheckBaselines
    model_metrics: dict[str, Any]  # CreateModelPackage ModelMetrics


def baseline_documents(baseline: Baseline, prefix: str) -> BaselineDocuments:
    """The documents of ``baseline`` under ``prefix`` (``s3://bucket/baselines/<group>/<version>``):
    ``data-quality/{statistics,constraints}.json`` and, with quality, ``model-quality/...``."""
    prefix = prefix.rstrip("/")
    objects: dict[str, dict[str, Any]] = {
        f"{prefix}/data-quality/statistics.json": data_quality_statistics(baseline),
        f"{prefix}/data-quality/constraints.json": data_quality_constraints(baseline),
    }

    def source(kind: str) -> dict[str, Any]:
        return {
            "Statistics": {"ContentType": CONTENT_TYPE, "S3Uri": f"{prefix}/{kind}/statistics.json"},
            "Constraints": {"ContentType": CONTENT_TYPE, "S3Uri": f"{prefix}/{kind}/constraints.json"},
        }

    drift = {"ModelDataQuality": source("data-quality")}
    metrics = {"ModelDataQuality": source("data-quality")}
    if baseline.quality is not None:
        objects[f"{prefix}/model-quality/statistics.json"] = model_quality_statistics(baseline.quality)
        objects[f"{prefix}/model-quality/constraints.json"] = model_quality_constraints(baseline.quality)
        drift["ModelQuality"] = source("model-quality")
        metrics["ModelQuality"] = source("model-quality")
    return BaselineDocuments(objects, drift, metrics)


# --- drift over virtual time ---------------------------------------------------------------------
@dataclass(frozen=True)
class _State:
    at: float
    features: tuple[Feature, ...]
    accuracy: float | None


@dataclass
class DataDrift:
    """Each version's feature distributions and label accuracy over virtual time: its baseline, then
    the drift steps applied to it (``apply``), each from its time on."""

    baseline_of: Callable[[str], Baseline | None]  # "group/version" -> its scenario baseline
    _states: dict[str, list[_State]] = field(default_factory=dict)
    log: list[tuple[float, str, str]] = field(default_factory=list)  # (t, package, what changed)

    def _history(self, package: str) -> list[_State]:
        states = self._states.get(package)
        if states is None:
            baseline = self.baseline_of(package)
            features = baseline.features if baseline else ()
            accuracy = baseline.quality.accuracy if baseline and baseline.quality else None
            states = self._states[package] = [_State(-math.inf, features, accuracy)]
        return states

    def _state(self, package: str, t: float) -> _State:
        states = self._history(package)
        return states[bisect.bisect_right([s.at for s in states], t) - 1]

    def features(self, package: str, t: float) -> tuple[Feature, ...] | None:
        """The distributions ``package`` draws its inputs from at virtual second ``t`` (None: the
        version has no baseline)."""
        return self._state(package, t).features or None

    def accuracy(self, package: str, t: float) -> float | None:
        """The accuracy of ``package``'s predictions at ``t`` (None: no labels to derive)."""
        return self._state(package, t).accuracy

    def apply(
        self, package: str, at: float, changes: dict[str, FeatureChange], accuracy: float | None = None
    ) -> list[str]:
        """From ``at`` on, ``package`` draws the changed features and labels with ``accuracy``;
        returns what changed, e.g. ``["age mean 40 -> 55"]``. Unknown features raise ``KeyError``;
        drifts are applied in time order (``ValueError`` otherwise)."""
        states = self._history(package)
        if at < states[-1].at:
            raise ValueError(f"a drift of {package} at {at:g} comes after one at {states[-1].at:g}")
        current = states[-1]
        by_name = {f.name: f for f in current.features}
        unknown = sorted(set(changes) - set(by_name))
        if unknown:
            raise KeyError(unknown[0])
        described: list[str] = []
        features = []
        for feature in current.features:
            change = changes.get(feature.name)
            if change is None:
                features.append(feature)
                continue
            updated = feature
            if change.mean is not None:
                described.append(f"{feature.name} mean {feature.mean:g} -> {change.mean:g}")
                updated = replace(updated, mean=change.mean)
            if change.std is not None:
                described.append(f"{feature.name} std {feature.std:g} -> {change.std:g}")
                updated = replace(updated, std=change.std)
            if change.categories is not None:
                described.append(
                    f"{feature.name} categories {_shares(feature.categories)} -> {_shares(change.categories)}"
                )
                updated = replace(updated, categories=change.categories)
            features.append(updated)
        new_accuracy = current.accuracy
        if accuracy is not None:
            before = "none" if current.accuracy is None else f"{current.accuracy:g}"
            described.append(f"accuracy {before} -> {accuracy:g}")
            new_accuracy = accuracy
        states.append(_State(at, tuple(features), new_accuracy))
        for text in described:
            self.log.append((at, package, text))
        return described


def _shares(categories: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{value} {share:g}" for value, share in categories)
