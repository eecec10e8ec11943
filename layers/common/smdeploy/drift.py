"""Drift of captured data and of model quality against SageMaker Model Monitor baselines (pure domain).

Inputs are the files SageMaker Model Monitor writes, read as dicts (no I/O here):

- Data quality ``statistics.json`` (``dataset.item_count``; per feature ``numerical_statistics`` with
  ``mean``, ``std_dev``, ``min``, ``max`` and ``distribution.kll`` {``buckets`` of ``lower_bound``,
  ``upper_bound``, ``count``; ``sketch`` {``parameters`` {``c``, ``k``}, ``data``: levels of items}},
  or ``string_statistics`` with ``distribution.categorical.buckets`` of ``value``, ``count``).
  "Schema for Statistics (statistics.json file)",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-statistics.html and
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-statistics.html
- Data quality ``constraints.json`` (per feature ``completeness``, ``num_constraints.is_non_negative``,
  ``string_constraints.domains``; ``monitoring_config`` with ``evaluate_constraints``,
  ``datatype_check_threshold``, ``domain_content_threshold`` and ``distribution_constraints``).
  "Schema for Constraints (constraints.json file)",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html
- Violations carry SageMaker's ``constraint_check_type`` names (``data_type_check``,
  ``completeness_check``, ``baseline_drift_check``, ``missing_column_check``, ``extra_column_check``,
  ``categorical_values_check``). "Schema for Violations (constraint_violations.json file)",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-violations.html
- Model quality ``statistics.json`` (``binary_classification_metrics``,
  ``multiclass_classification_metrics`` or ``regression_metrics``: metric -> {``value``,
  ``standard_deviation``}, the latter often ``"NaN"``; ``confusion_matrix`` has no value) and
  ``constraints.json`` (``binary_classification_constraints`` etc.: metric -> {``threshold``,
  ``comparison_operator``}). "Model quality metrics and Amazon CloudWatch monitoring",
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html. The guide
  documents no violation schema for model quality; the model-quality violations here take the form
  AWS's own custom-metric containers emit: ``constraint_check_type`` is the comparison operator, with
  ``metric_name`` and a description like "Metric auc with 0.71 was LessThanThreshold 0.8".

Captured inputs are CSV rows without a header, columns in the order of ``statistics.json``
``features`` (:func:`parse_rows`).

Decision rule (:func:`check_data_quality`)
-------------------------------------------
- Numerical feature: PSI over ``bins`` equal-probability bins of the baseline (edges = baseline
  quantiles at 1/bins, 2/bins, ..., the outer bins open-ended), and the one-sample
  Kolmogorov-Smirnov test of the present values against the baseline CDF
  (``scipy.stats.kstest``). The baseline CDF is piecewise linear: from the KLL sketch's items when
  the sketch is there (an item at level ``h`` of ``data`` stands for ``2**h`` values; each distinct
  value sits at its mid-rank, the CDF is 0 at ``min`` and 1 at ``max``), else from the buckets
  (uniform inside each bucket).
- Categorical feature: PSI over the baseline categories plus an "(other)" bin for values outside
  them, and the chi-square goodness-of-fit test against the baseline shares
  (``scipy.stats.chisquare``; every expected share floored at ``eps`` so an unseen category does not
  divide by zero).
- PSI = sum((a - e) * ln(a / e)) over bins, with both shares floored at ``eps`` = 1e-4.
- **A feature drifts only when both hold: PSI > psi_threshold (the change is material) and
  p < ks_alpha (it is not noise).** PSI alone is noisy on small windows; a test alone flags trivial
  shifts on large ones. Requiring both keeps false alarms low when a check runs every hour.
- Constraint violations (when ``monitoring_config.evaluate_constraints`` is not ``Disabled``),
  strict, no tolerance: completeness below the feature's ``completeness``; any negative value when
  ``is_non_negative``; a share of values that are not numbers (for an ``Integral`` feature, not
  whole numbers) above 1 - ``datatype_check_threshold``; a share of values outside ``domains`` above
  1 - ``domain_content_threshold``. Rows with fewer or more cells than the baseline has features
  give ``missing_column_check`` / ``extra_column_check``. A feature with a violation counts as
  drifted too.
- Fewer than ``min_samples`` rows: the report is not ``sufficient`` and no feature drifts (the
  violations are still listed).

``distribution_constraints`` (``comparison_threshold``, ``comparison_method``,
``categorical_drift_method``) is read but not used: the rule above replaces SageMaker's distance.

Model quality (:func:`check_model_quality`): the metric is computed on joined prediction/label pairs
(:func:`model_metric`); ``drop`` is how much worse it is than the baseline's value, in the metric's
own units (baseline - current for metrics in :data:`HIGHER_IS_BETTER`, current - baseline for
errors). Degraded when, with enough pairs, ``drop >= min_drop`` or a constraint of the baseline is
violated.

Requires numpy and scipy (shipped in the shared layer).
"""

from __future__ import annotations

import csv
import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

FloatArray = NDArray[np.float64]

EPS = 1e-4
OTHER = "(other)"
NUMERICAL_TYPES = ("Integral", "Fractional")
COMPARISON_OPERATORS = (
    "LessThanThreshold",
    "GreaterThanThreshold",
    "LessThanOrEqualToThreshold",
    "GreaterThanOrEqualToThreshold",
)
Problem = Literal["binary", "multiclass", "regression"]
PROBLEMS: dict[Problem, str] = {
    "binary": "binary_classification",
    "multiclass": "multiclass_classification",
    "regression": "regression",
}
HIGHER_IS_BETTER: frozenset[str] = frozenset(
    {
        "accuracy",
        "auc",
        "f0_5",
        "f1",
        "f2",
        "precision",
        "recall",
        "true_positive_rate",
        "true_negative_rate",
        "weighted_f0_5",
        "weighted_f1",
        "weighted_f2",
        "weighted_precision",
        "weighted_recall",
        "r2",
    }
)
LOWER_IS_BETTER: frozenset[str] = frozenset(
    {"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"}
)


class BaselineError(ValueError):
    """A statistics.json or constraints.json that cannot be used; the message names the field."""


# --------------------------------------------------------------------------- baselines


@dataclass(frozen=True)
class FeatureBaseline:
    """One feature of a data-quality baseline (statistics.json with its constraints.json)."""

    name: str
    kind: Literal["numerical", "categorical"]
    inferred_type: str
    mean: float | None = None
    std: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    categories: dict[str, float] = field(default_factory=dict)  # value -> share; {} when numerical
    completeness: float = 1.0
    domain: tuple[str, ...] | None = None
    non_negative: bool = False
    cdf_points: tuple[tuple[float, float], ...] = ()  # (value, cumulative share), numerical only

    @cached_property
    def _xs(self) -> FloatArray:
        return np.array([x for x, _ in self.cdf_points], dtype=float)

    @cached_property
    def _ps(self) -> FloatArray:
        return np.array([p for _, p in self.cdf_points], dtype=float)

    def cdf(self, x: ArrayLike) -> FloatArray:
        """The baseline's cumulative share at ``x`` (piecewise linear; 0 below, 1 above)."""
        self._numerical("cdf")
        return np.interp(np.asarray(x, dtype=float), self._xs, self._ps, left=0.0, right=1.0)

    def quantile(self, q: ArrayLike) -> FloatArray:
        """The inverse of :meth:`cdf` (the lowest and highest points outside (0, 1))."""
        self._numerical("quantile")
        return np.interp(np.asarray(q, dtype=float), self._ps, self._xs)

    def histogram(
        self, values: Sequence[float] | Sequence[str] | FloatArray, bins: int = 10
    ) -> tuple[tuple[str, ...], FloatArray, FloatArray]:
        """The PSI bins for ``values`` (numbers when numerical, strings when categorical): their
        labels, the baseline's share and the count of ``values`` in each. Numerical: ``bins``
        equal-probability bins of the baseline, the outer ones open-ended (fewer when quantiles
        coincide); categorical: the baseline's categories, then "(other)"."""
        if self.kind == "numerical":
            edges = np.unique(self.quantile(np.arange(1, bins) / bins))
            expected = np.diff(np.concatenate(([0.0], self.cdf(edges), [1.0])))
            return _edge_labels(edges), expected, _bin_counts(np.asarray(values, dtype=float), edges)
        seen = Counter(str(v) for v in values)
        counts = [float(seen.pop(c, 0)) for c in self.categories]
        expected = np.array([*self.categories.values(), 0.0])
        return (*self.categories, OTHER), expected, np.array([*counts, float(sum(seen.values()))])

    def _numerical(self, what: str) -> None:
        if self.kind != "numerical" or not self.cdf_points:
            raise ValueError(f"feature {self.name!r} is {self.kind}: it has no {what}")


@dataclass(frozen=True)
class Baseline:
    """A data-quality baseline: its features in column order, and the constraints' thresholds."""

    features: tuple[FeatureBaseline, ...]
    item_count: int
    datatype_check_threshold: float = 1.0
    domain_content_threshold: float = 1.0
    evaluate_constraints: bool = True

    def feature(self, name: str) -> FeatureBaseline:
        for feature in self.features:
            if feature.name == name:
                return feature
        known = ", ".join(f.name for f in self.features)
        raise KeyError(f"no feature {name!r} in the baseline; known: {known}")


def _field(obj: Any, key: str, path: str) -> Any:
    if not isinstance(obj, Mapping):
        raise BaselineError(f"{path}: expected an object, got {type(obj).__name__}")
    if key not in obj or obj[key] is None:
        where = f"{path} {key}" if path.endswith(".json") else f"{path}.{key}"
        raise BaselineError(f"{where}: missing")
    return obj[key]


def _number(value: Any, path: str, *, finite: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BaselineError(f"{path}: expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise BaselineError(f"{path}: expected a number, got {value!r}") from None
    if finite and not math.isfinite(number):
        raise BaselineError(f"{path}: expected a finite number, got {value!r}")
    return number


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise BaselineError(f"{path}: expected a list, got {type(value).__name__}")
    return value


def _sketch_points(sketch: Any, path: str, low: float, high: float) -> list[tuple[float, float]]:
    levels = _list(_field(sketch, "data", path), f"{path}.data")
    weights: dict[float, float] = {}
    for h, level in enumerate(levels):
        for i, item in enumerate(_list(level, f"{path}.data[{h}]")):
            value = _number(item, f"{path}.data[{h}][{i}]")
            weights[value] = weights.get(value, 0.0) + 2.0**h
    if not weights:
        raise BaselineError(f"{path}.data: no items")
    total = sum(weights.values())
    points: list[tuple[float, float]] = []
    seen = 0.0
    for value in sorted(weights):
        w = weights[value]
        points.append((value, (seen + w / 2) / total))  # the value's mid-rank
        seen += w
    if low < points[0][0]:
        points.insert(0, (low, 0.0))
    if high > points[-1][0]:
        points.append((high, 1.0))
    if len(points) == 1:  # a constant feature: a step at its value
        points = [(points[0][0], 0.0), (points[0][0], 1.0)]
    return points


def _bucket_points(buckets: list[Any], path: str) -> list[tuple[float, float]]:
    parsed = []
    for i, bucket in enumerate(buckets):
        where = f"{path}[{i}]"
        lower = _number(_field(bucket, "lower_bound", where), f"{where}.lower_bound")
        upper = _number(_field(bucket, "upper_bound", where), f"{where}.upper_bound")
        count = _number(_field(bucket, "count", where), f"{where}.count")
        if upper < lower or count < 0:
            raise BaselineError(f"{where}: expected lower_bound <= upper_bound and count >= 0")
        parsed.append((lower, upper, count))
    parsed.sort()
    total = sum(c for _, _, c in parsed)
    if not parsed or total <= 0:
        raise BaselineError(f"{path}: no counts")
    points = [(parsed[0][0], 0.0)]
    seen = 0.0
    for lower, upper, count in parsed:
        if lower > points[-1][0]:  # a gap between buckets holds nothing
            points.append((lower, seen / total))
        seen += count
        points.append((upper, seen / total))
    return points


def _numerical_feature(raw: Mapping[str, Any], name: str, inferred: str, path: str) -> FeatureBaseline:
    where = f"{path}.numerical_statistics"
    numbers = _field(raw, "numerical_statistics", path)
    mean = _number(_field(numbers, "mean", where), f"{where}.mean")
    std = _number(_field(numbers, "std_dev", where), f"{where}.std_dev")
    low = _number(_field(numbers, "min", where), f"{where}.min")
    high = _number(_field(numbers, "max", where), f"{where}.max")
    kll = _field(_field(numbers, "distribution", where), "kll", f"{where}.distribution")
    kll_path = f"{where}.distribution.kll"
    if isinstance(kll, Mapping) and kll.get("sketch") is not None:
        points = _sketch_points(kll["sketch"], f"{kll_path}.sketch", low, high)
    else:
        buckets = _list(_field(kll, "buckets", kll_path), f"{kll_path}.buckets")
        points = _bucket_points(buckets, f"{kll_path}.buckets")
    return FeatureBaseline(
        name=name,
        kind="numerical",
        inferred_type=inferred,
        mean=mean,
        std=std,
        minimum=low,
        maximum=high,
        cdf_points=tuple(points),
    )


def _categorical_feature(raw: Mapping[str, Any], name: str, inferred: str, path: str) -> FeatureBaseline:
    where = f"{path}.string_statistics"
    strings = _field(raw, "string_statistics", path)
    counts: dict[str, float] = {}
    distribution = strings.get("distribution") if isinstance(strings, Mapping) else None
    if distribution is not None:
        dist_path = f"{where}.distribution"
        categorical = _field(distribution, "categorical", dist_path)
        buckets_path = f"{dist_path}.categorical.buckets"
        buckets = _list(_field(categorical, "buckets", f"{dist_path}.categorical"), buckets_path)
        for i, bucket in enumerate(buckets):
            bucket_path = f"{dist_path}.categorical.buckets[{i}]"
            value = str(_field(bucket, "value", bucket_path))
            count = _number(_field(bucket, "count", bucket_path), f"{bucket_path}.count")
            if count < 0:
                raise BaselineError(f"{bucket_path}.count: negative")
            counts[value] = counts.get(value, 0.0) + count
    total = sum(counts.values())
    categories = {value: count / total for value, count in counts.items()} if total > 0 else {}
    return FeatureBaseline(name=name, kind="categorical", inferred_type=inferred, categories=categories)


def parse_baseline(statistics: Mapping[str, Any], constraints: Mapping[str, Any] | None = None) -> Baseline:
    """A :class:`Baseline` from a data-quality statistics.json and, optionally, its constraints.json.

    Raises :class:`BaselineError` naming the first unusable field, e.g.
    ``statistics.json features[2].numerical_statistics: missing``.
    """
    root = "statistics.json"
    dataset = _field(statistics, "dataset", root)
    item_count = int(_number(_field(dataset, "item_count", f"{root} dataset"), f"{root} dataset.item_count"))
    raw_features = _list(_field(statistics, "features", root), f"{root} features")
    features: list[FeatureBaseline] = []
    for i, raw in enumerate(raw_features):
        path = f"{root} features[{i}]"
        name = _field(raw, "name", path)
        if not isinstance(name, str) or not name:
            raise BaselineError(f"{path}.name: expected a non-empty string")
        if any(f.name == name for f in features):
            raise BaselineError(f"{path}.name: {name!r} appears twice")
        inferred = str(raw.get("inferred_type") or "Unknown")
        if inferred in NUMERICAL_TYPES or ("numerical_statistics" in raw and "string_statistics" not in raw):
            features.append(_numerical_feature(raw, name, inferred, path))
        elif "string_statistics" in raw:
            features.append(_categorical_feature(raw, name, inferred, path))
        else:
            raise BaselineError(f"{path}: neither numerical_statistics nor string_statistics")
    if not features:
        raise BaselineError(f"{root} features: empty")
    baseline = Baseline(features=tuple(features), item_count=item_count)
    return _with_constraints(baseline, constraints) if constraints is not None else baseline


def _threshold(config: Mapping[str, Any], key: str, path: str) -> float:
    if config.get(key) is None:
        return 1.0
    value = _number(config[key], f"{path}.{key}")
    if not 0.0 <= value <= 1.0:
        raise BaselineError(f"{path}.{key}: expected a share in [0, 1], got {value}")
    return value


def _with_constraints(baseline: Baseline, constraints: Mapping[str, Any]) -> Baseline:
    root = "constraints.json"
    if not isinstance(constraints, Mapping):
        raise BaselineError(f"{root}: expected an object")
    by_name = {f.name: f for f in baseline.features}
    for i, raw in enumerate(_list(constraints.get("features", []), f"{root} features")):
        path = f"{root} features[{i}]"
        name = _field(raw, "name", path)
        if name not in by_name:
            raise BaselineError(f"{path}.name: {name!r} is not a feature of statistics.json")
        feature = by_name[name]
        changes: dict[str, Any] = {}
        if raw.get("completeness") is not None:
            completeness = _number(raw["completeness"], f"{path}.completeness")
            if not 0.0 <= completeness <= 1.0:
                raise BaselineError(f"{path}.completeness: expected a share in [0, 1], got {completeness}")
            changes["completeness"] = completeness
        num = raw.get("num_constraints")
        if num is not None:
            flag = _field(num, "is_non_negative", f"{path}.num_constraints")
            if not isinstance(flag, bool):
                raise BaselineError(f"{path}.num_constraints.is_non_negative: expected true or false")
            changes["non_negative"] = flag
        strings = raw.get("string_constraints")
        if strings is not None:
            where = f"{path}.string_constraints"
            domains = _list(_field(strings, "domains", where), f"{where}.domains")
            changes["domain"] = tuple(str(d) for d in domains)
        by_name[name] = replace(feature, **changes)
    config = constraints.get("monitoring_config") or {}
    config_path = f"{root} monitoring_config"
    if not isinstance(config, Mapping):
        raise BaselineError(f"{config_path}: expected an object")
    return replace(
        baseline,
        features=tuple(by_name[f.name] for f in baseline.features),
        datatype_check_threshold=_threshold(config, "datatype_check_threshold", config_path),
        domain_content_threshold=_threshold(config, "domain_content_threshold", config_path),
        evaluate_constraints=config.get("evaluate_constraints", "Enabled") != "Disabled",
    )


def parse_rows(lines: Iterable[str], width: int) -> list[list[str | None]]:
    """CSV rows (no header) as lists of cells: an empty cell is ``None`` (missing), a short row is
    padded with ``None`` to ``width``; a long row keeps its extra cells; blank lines are skipped."""
    rows: list[list[str | None]] = []
    for cells in csv.reader(lines):
        if not cells:
            continue
        row: list[str | None] = [cell if cell.strip() else None for cell in cells]
        if len(row) < width:
            row.extend([None] * (width - len(row)))
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- data quality


@dataclass(frozen=True)
class Violation:
    """One broken constraint, named as SageMaker names it in constraint_violations.json."""

    feature_name: str  # the metric's name for a model-quality violation
    constraint_check_type: str
    description: str

    def to_dict(self) -> dict[str, str]:
        key = "metric_name" if self.constraint_check_type in COMPARISON_OPERATORS else "feature_name"
        return {
            key: self.feature_name,
            "constraint_check_type": self.constraint_check_type,
            "description": self.description,
        }


@dataclass(frozen=True)
class FeatureDrift:
    """The verdict on one feature of one window of captured rows."""

    name: str
    kind: Literal["numerical", "categorical"]
    samples: int  # present values (for a numerical feature, those that are numbers)
    missing: float  # share of the rows
    psi: float | None
    ks_statistic: float | None  # the test's statistic (chi-square's for a categorical feature)
    p_value: float | None
    test: Literal["ks", "chi2"]
    drifted: bool
    violations: tuple[Violation, ...]
    baseline_hist: tuple[float, ...]  # shares per bin
    current_hist: tuple[float, ...]
    bins: tuple[str, ...]  # "[-inf, 24.6)", ... or the category values and "(other)"
    current_mean: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "samples": self.samples,
            "missing": _round(self.missing),
            "psi": _round(self.psi),
            "ks_statistic": _round(self.ks_statistic),
            "p_value": _sig(self.p_value),
            "test": self.test,
            "drifted": self.drifted,
            "violations": [v.to_dict() for v in self.violations],
            "bins": list(self.bins),
            "baseline_hist": [_round(s) for s in self.baseline_hist],
            "current_hist": [_round(s) for s in self.current_hist],
            "current_mean": _sig(self.current_mean, 6),
        }


@dataclass(frozen=True)
class DataQualityReport:
    """One data-quality check: a verdict per judged feature, and every violation found."""

    samples: int  # rows
    features: tuple[FeatureDrift, ...]
    violations: tuple[Violation, ...]
    sufficient: bool

    @property
    def drifted(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.drifted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "sufficient": self.sufficient,
            "drifted": list(self.drifted),
            "violations": [v.to_dict() for v in self.violations],
            "features": [f.to_dict() for f in self.features],
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _sig(value: float | None, digits: int = 3) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{float(value):.{digits}g}")


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def psi(expected: ArrayLike, actual: ArrayLike, eps: float = EPS) -> float:
    """Population stability index of ``actual`` against ``expected`` over the same bins.

    Both are counts or shares (normalized here); each share is floored at ``eps``:
    ``sum((a - e) * ln(a / e))``.
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.ndim != 1 or e.shape != a.shape or e.size == 0:
        raise ValueError(f"psi needs two histograms over the same bins, got {e.shape} and {a.shape}")
    if (e < 0).any() or (a < 0).any() or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("psi needs non-negative histograms with something in them")
    e = np.maximum(e / e.sum(), eps)
    a = np.maximum(a / a.sum(), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def _edge_labels(edges: FloatArray) -> tuple[str, ...]:
    bounds = ["-inf", *(_fmt(float(e)) for e in edges), "inf"]
    return tuple(f"[{lo}, {hi})" for lo, hi in itertools.pairwise(bounds))


def _bin_counts(values: FloatArray, edges: FloatArray) -> FloatArray:
    """Counts per bin ``[edge[i-1], edge[i])``, the outer bins open-ended."""
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1).astype(float)


def _shares(counts: FloatArray) -> FloatArray:
    total = counts.sum()
    return counts / total if total > 0 else counts


def feature_drift(
    feature: FeatureBaseline,
    values: Sequence[float] | Sequence[str] | FloatArray,
    *,
    psi_threshold: float = 0.2,
    ks_alpha: float = 0.01,
    bins: int = 10,
) -> FeatureDrift:
    """The distribution part of the verdict on one feature: present ``values`` (numbers for a
    numerical feature, strings for a categorical one) against the baseline. No constraints, no
    missing values, no sample-size gate: :func:`check_data_quality` adds those."""
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    if feature.kind == "numerical":
        return _numerical_drift(feature, np.asarray(values, dtype=float), psi_threshold, ks_alpha, bins)
    return _categorical_drift(feature, [str(v) for v in values], psi_threshold, ks_alpha)


def _numerical_drift(
    feature: FeatureBaseline, x: FloatArray, psi_threshold: float, ks_alpha: float, bins: int
) -> FeatureDrift:
    labels, expected, current = feature.histogram(x, bins)
    value: float | None = None
    statistic: float | None = None
    p: float | None = None
    if x.size:
        value = psi(expected, current) if expected.sum() > 0 else None
        result = stats.kstest(x, feature.cdf)
        statistic, p = float(result.statistic), float(result.pvalue)
    drifted = value is not None and p is not None and value > psi_threshold and p < ks_alpha
    return FeatureDrift(
        name=feature.name,
        kind="numerical",
        samples=int(x.size),
        missing=0.0,
        psi=value,
        ks_statistic=statistic,
        p_value=p,
        test="ks",
        drifted=drifted,
        violations=(),
        baseline_hist=tuple(float(s) for s in expected),
        current_hist=tuple(float(s) for s in _shares(current)),
        bins=labels,
        current_mean=float(x.mean()) if x.size else None,
    )


def _categorical_drift(
    feature: FeatureBaseline, values: Sequence[str], psi_threshold: float, ks_alpha: float
) -> FeatureDrift:
    labels, expected, current = feature.histogram(values)
    value: float | None = None
    statistic: float | None = None
    p: float | None = None
    if values and feature.categories:
        value = psi(expected, current)
        floored = np.maximum(expected, EPS)
        f_exp = floored / floored.sum() * current.sum()
        result = stats.chisquare(current, f_exp)
        statistic, p = float(result.statistic), float(result.pvalue)
    drifted = value is not None and p is not None and value > psi_threshold and p < ks_alpha
    return FeatureDrift(
        name=feature.name,
        kind="categorical",
        samples=len(values),
        missing=0.0,
        psi=value,
        ks_statistic=statistic,
        p_value=p,
        test="chi2",
        drifted=drifted,
        violations=(),
        baseline_hist=tuple(float(s) for s in expected),
        current_hist=tuple(float(s) for s in _shares(current)),
        bins=labels,
        current_mean=None,
    )


def _judged(
    baseline: Baseline, features: Sequence[str] | Literal["all"]
) -> list[tuple[int, FeatureBaseline]]:
    if features == "all":
        return list(enumerate(baseline.features))
    if isinstance(features, str):
        raise ValueError(f"features: 'all' or a list of feature names, got {features!r}")
    index = {f.name: i for i, f in enumerate(baseline.features)}
    unknown = [name for name in features if name not in index]
    if unknown:
        known = ", ".join(index)
        raise ValueError(f"features: {', '.join(map(repr, unknown))} not in the baseline; known: {known}")
    return [(index[name], baseline.features[index[name]]) for name in dict.fromkeys(features)]


def _column_violations(baseline: Baseline, rows: Sequence[Sequence[str | None]]) -> list[Violation]:
    width = len(baseline.features)
    widths = Counter(len(row) for row in rows)
    violations = []
    short = sum(n for w, n in widths.items() if w < width)
    if short:
        narrowest = min(widths)
        for feature in baseline.features[narrowest:]:
            violations.append(
                Violation(
                    feature.name,
                    "missing_column_check",
                    f"{short} of {len(rows)} rows have fewer than the baseline's {width} columns; "
                    f"column {feature.name!r} is absent from some",
                )
            )
    long = sum(n for w, n in widths.items() if w > width)
    if long:
        violations.append(
            Violation(
                f"_c{width}",
                "extra_column_check",
                f"{long} of {len(rows)} rows have more than the baseline's {width} columns "
                f"(up to {max(widths)})",
            )
        )
    return violations


def _numbers(cells: Iterable[str | None], integral: bool) -> tuple[FloatArray, int, int]:
    """The numbers among ``cells``, how many cells were missing, and how many were of another type."""
    values: list[float] = []
    missing = wrong = 0
    for cell in cells:
        text = cell.strip() if cell is not None else ""
        if not text:
            missing += 1
            continue
        try:
            number = float(text)
        except ValueError:
            wrong += 1
            continue
        if math.isnan(number):
            missing += 1
        elif math.isinf(number):
            wrong += 1
        else:
            values.append(number)
            if integral and not number.is_integer():
                wrong += 1
    return np.array(values, dtype=float), missing, wrong


def _feature_violations(
    baseline: Baseline, feature: FeatureBaseline, rows: int, missing: int, wrong: int, values: Any
) -> list[Violation]:
    if not baseline.evaluate_constraints or rows == 0:
        return []
    out = []
    completeness = (rows - missing) / rows
    if completeness < feature.completeness:
        out.append(
            Violation(
                feature.name,
                "completeness_check",
                f"Data completeness {completeness:.4g} of {feature.name!r} is below the baseline "
                f"constraint {feature.completeness:.4g}",
            )
        )
    present = rows - missing
    if feature.kind == "numerical":
        if present and wrong / present > 1.0 - baseline.datatype_check_threshold:
            out.append(
                Violation(
                    feature.name,
                    "data_type_check",
                    f"{wrong} of {present} values of {feature.name!r} are not {feature.inferred_type} "
                    f"(allowed share {1.0 - baseline.datatype_check_threshold:.4g})",
                )
            )
        if feature.non_negative and values.size and (negatives := int((values < 0).sum())):
            out.append(
                Violation(
                    feature.name,
                    "data_type_check",
                    f"{negatives} of {values.size} values of {feature.name!r} are negative "
                    f"(min {_fmt(float(values.min()))}); the baseline constraint is_non_negative",
                )
            )
    elif feature.domain is not None and present:
        domain = set(feature.domain)
        outside = Counter(v for v in values if v not in domain)
        if sum(outside.values()) / present > 1.0 - baseline.domain_content_threshold:
            examples = ", ".join(repr(v) for v, _ in outside.most_common(3))
            out.append(
                Violation(
                    feature.name,
                    "categorical_values_check",
                    f"{sum(outside.values())} of {present} values of {feature.name!r} are outside the "
                    f"baseline domain (e.g. {examples}; allowed share "
                    f"{1.0 - baseline.domain_content_threshold:.4g})",
                )
            )
    return out


def check_data_quality(
    baseline: Baseline,
    rows: Sequence[Sequence[str | None]],
    *,
    psi_threshold: float = 0.2,
    ks_alpha: float = 0.01,
    features: Sequence[str] | Literal["all"] = "all",
    min_samples: int = 100,
    bins: int = 10,
) -> DataQualityReport:
    """Judge a window of captured rows (cells as strings, ``None`` missing) against the baseline.

    See the module docstring for the rule. ``features`` restricts the judged features (an unknown
    name raises ``ValueError``); column-count violations are reported whatever it says.
    """
    judged = _judged(baseline, features)
    n = len(rows)
    sufficient = n >= min_samples
    violations = _column_violations(baseline, rows) if baseline.evaluate_constraints else []
    results = []
    for j, feature in judged:
        cells = [row[j] if j < len(row) else None for row in rows]
        values: Any
        if feature.kind == "numerical":
            values, missing, wrong = _numbers(cells, integral=feature.inferred_type == "Integral")
        else:
            values = [c.strip() for c in cells if c is not None and c.strip()]
            missing, wrong = n - len(values), 0
        verdict = feature_drift(feature, values, psi_threshold=psi_threshold, ks_alpha=ks_alpha, bins=bins)
        found = tuple(_feature_violations(baseline, feature, n, missing, wrong, values))
        violations.extend(found)
        results.append(
            replace(
                verdict,
                missing=missing / n if n else 0.0,
                violations=found,
                drifted=sufficient and (verdict.drifted or bool(found)),
            )
        )
    return DataQualityReport(
        samples=n, features=tuple(results), violations=tuple(violations), sufficient=sufficient
    )


# --------------------------------------------------------------------------- two samples


@dataclass(frozen=True)
class Divergence:
    """Two samples (e.g. the predictions of two model versions) compared: PSI and a test."""

    psi: float | None
    ks_statistic: float | None  # the test's statistic (chi-square's for categorical samples)
    p_value: float | None
    test: Literal["ks", "chi2"]
    samples_a: int
    samples_b: int
    diverged: bool
    bins: tuple[str, ...]
    hist_a: tuple[float, ...]  # shares per bin
    hist_b: tuple[float, ...]
    psi_threshold: float = 0.2
    alpha: float = 0.01
    min_samples: int = 50

    def describe(self) -> str:
        """One line, e.g. "PSI 0.72 > 0.2, chi-square p 1e-12 < 0.01 over 400/380 predictions"."""
        over = f"over {self.samples_a}/{self.samples_b} predictions"
        psi_text = "PSI -" if self.psi is None else f"PSI {self.psi:.2f}"
        if self.psi is not None:
            psi_text += f" {'>' if self.psi > self.psi_threshold else '<='} {self.psi_threshold:g}"
        if self.p_value is None:
            return f"{psi_text}, too few to test {over} (need {self.min_samples} each)"
        name = "KS" if self.test == "ks" else "chi-square"
        sign = "<" if self.p_value < self.alpha else ">="
        return f"{psi_text}, {name} p {self.p_value:.2g} {sign} {self.alpha:g} {over}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "psi": _round(self.psi),
            "ks_statistic": _round(self.ks_statistic),
            "p_value": _sig(self.p_value),
            "test": self.test,
            "samples_a": self.samples_a,
            "samples_b": self.samples_b,
            "diverged": self.diverged,
            "bins": list(self.bins),
            "hist_a": [_round(s) for s in self.hist_a],
            "hist_b": [_round(s) for s in self.hist_b],
            "description": self.describe(),
        }


def _floats(values: Sequence[str | float]) -> FloatArray | None:
    """All values as finite floats, or None when one is not a number."""
    out = np.empty(len(values), dtype=float)
    for i, v in enumerate(values):
        try:
            out[i] = float(v.strip() if isinstance(v, str) else v)
        except (TypeError, ValueError):
            return None
    return out if np.isfinite(out).all() else None


def _label(value: str | float) -> str:
    """A category's name: numbers written one way ("1", "1.0" and 1.0 are "1")."""
    text = value.strip() if isinstance(value, str) else str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    return f"{number:g}" if math.isfinite(number) else text


def compare_samples(
    a: Sequence[str | float],
    b: Sequence[str | float],
    *,
    psi_threshold: float = 0.2,
    alpha: float = 0.01,
    min_samples: int = 50,
    bins: int = 10,
) -> Divergence:
    """Compare two samples. Numeric when every value is a number and there are more than 10
    distinct values: PSI over the deciles (``bins``) of ``a`` and the two-sample KS test
    (``scipy.stats.ks_2samp``). Otherwise categorical: PSI over the union of the categories and
    the chi-square test of homogeneity (``scipy.stats.chi2_contingency``, no continuity correction).
    Diverged when PSI > psi_threshold and p < alpha; with fewer than ``min_samples`` in either
    sample there is no test (``p_value`` None) and no divergence."""
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    fa, fb = _floats(a), _floats(b)
    enough = min(len(a), len(b)) >= min_samples
    value: float | None = None
    statistic: float | None = None
    p: float | None = None
    test: Literal["ks", "chi2"]
    if fa is not None and fb is not None and np.unique(np.concatenate([fa, fb])).size > 10:
        test = "ks"
        edges = np.unique(np.quantile(fa, np.arange(1, bins) / bins)) if fa.size else np.array([])
        counts_a, counts_b = _bin_counts(fa, edges), _bin_counts(fb, edges)
        labels = _edge_labels(edges)
        if enough:
            result = stats.ks_2samp(fa, fb)
            statistic, p = float(result.statistic), float(result.pvalue)
    else:
        test = "chi2"
        seen_a, seen_b = Counter(map(_label, a)), Counter(map(_label, b))
        labels = tuple(dict.fromkeys(c for seen in (seen_a, seen_b) for c, _ in seen.most_common()))
        counts_a = np.array([float(seen_a[c]) for c in labels])
        counts_b = np.array([float(seen_b[c]) for c in labels])
        if enough:
            if len(labels) > 1:
                result = stats.chi2_contingency(np.vstack([counts_a, counts_b]), correction=False)
                statistic, p = float(result.statistic), float(result.pvalue)
            else:
                statistic, p = 0.0, 1.0
    if counts_a.sum() > 0 and counts_b.sum() > 0:
        value = psi(counts_a, counts_b)
    diverged = enough and value is not None and p is not None and value > psi_threshold and p < alpha
    return Divergence(
        psi=value,
        ks_statistic=statistic,
        p_value=p,
        test=test,
        samples_a=len(a),
        samples_b=len(b),
        diverged=bool(diverged),
        bins=labels,
        hist_a=tuple(float(s) for s in _shares(counts_a)),
        hist_b=tuple(float(s) for s in _shares(counts_b)),
        psi_threshold=psi_threshold,
        alpha=alpha,
        min_samples=min_samples,
    )


# --------------------------------------------------------------------------- model quality


@dataclass(frozen=True)
class QualityBaseline:
    """A model-quality baseline: the problem, its metrics' values and its constraints."""

    problem: Problem
    metrics: dict[str, float]
    constraints: dict[str, tuple[float, str]] = field(default_factory=dict)  # metric -> (threshold, operator)


def parse_quality_baseline(
    statistics: Mapping[str, Any], constraints: Mapping[str, Any] | None = None
) -> QualityBaseline:
    """A :class:`QualityBaseline` from a model-quality statistics.json and its constraints.json."""
    root = "statistics.json"
    if not isinstance(statistics, Mapping):
        raise BaselineError(f"{root}: expected an object")
    found = [p for p, prefix in PROBLEMS.items() if f"{prefix}_metrics" in statistics]
    if len(found) != 1:
        wanted = ", ".join(f"{prefix}_metrics" for prefix in PROBLEMS.values())
        raise BaselineError(f"{root}: expected exactly one of {wanted}")
    problem = found[0]
    key = f"{PROBLEMS[problem]}_metrics"
    raw_metrics = _field(statistics, key, root)
    if not isinstance(raw_metrics, Mapping):
        raise BaselineError(f"{root} {key}: expected an object")
    metrics: dict[str, float] = {}
    for name, entry in raw_metrics.items():
        if isinstance(entry, Mapping) and "value" in entry:  # confusion_matrix has no value
            metrics[name] = _number(entry["value"], f"{root} {key}.{name}.value", finite=False)
    parsed: dict[str, tuple[float, str]] = {}
    if constraints is not None:
        croot = "constraints.json"
        ckey = f"{PROBLEMS[problem]}_constraints"
        if not isinstance(constraints, Mapping):
            raise BaselineError(f"{croot}: expected an object")
        for other in PROBLEMS.values():
            if other != PROBLEMS[problem] and f"{other}_constraints" in constraints:
                raise BaselineError(f"{croot} {other}_constraints: the statistics are {key}")
        for name, entry in (constraints.get(ckey) or {}).items():
            path = f"{croot} {ckey}.{name}"
            threshold = _number(_field(entry, "threshold", path), f"{path}.threshold")
            operator = _field(entry, "comparison_operator", path)
            if operator not in COMPARISON_OPERATORS:
                known = ", ".join(COMPARISON_OPERATORS)
                raise BaselineError(f"{path}.comparison_operator: {operator!r} is not one of {known}")
            parsed[name] = (threshold, operator)
    return QualityBaseline(problem=problem, metrics=metrics, constraints=parsed)


def _numbers_of(values: Sequence[str], what: str) -> FloatArray:
    out = _floats(values)
    if out is None:
        bad = next(v for v in values if _floats([v]) is None)
        raise ValueError(f"{what}: {bad!r} is not a number")
    return out


def _fbeta(precision: float, recall: float, beta: float) -> float:
    b2 = beta * beta
    denominator = b2 * precision + recall
    return (1 + b2) * precision * recall / denominator if denominator > 0 else 0.0


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def _auc(scores: FloatArray, truth: NDArray[np.bool_]) -> float:
    """Area under the ROC curve by the rank formula (Mann-Whitney U), ties averaged."""
    n1 = int(truth.sum())
    n0 = truth.size - n1
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = stats.rankdata(scores)
    return float((ranks[truth].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _binary_metric(metric: str, predictions: Sequence[str], labels: Sequence[str]) -> float:
    scores = _numbers_of(predictions, "predictions")
    y = _numbers_of(labels, "labels")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels: a binary problem's labels are 0 or 1")
    if ((scores < 0) | (scores > 1)).any():
        raise ValueError("predictions: a binary problem's predictions are labels 0/1 or scores in [0, 1]")
    truth = y == 1.0
    if metric == "auc":
        return _auc(scores, truth)
    predicted = scores >= 0.5
    tp = float((predicted & truth).sum())
    fp = float((predicted & ~truth).sum())
    fn = float((~predicted & truth).sum())
    tn = float((~predicted & ~truth).sum())
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    table: dict[str, Callable[[], float]] = {
        "accuracy": lambda: _ratio(tp + tn, tp + tn + fp + fn),
        "precision": lambda: precision,
        "recall": lambda: recall,
        "true_positive_rate": lambda: recall,
        "true_negative_rate": lambda: _ratio(tn, tn + fp),
        "false_positive_rate": lambda: _ratio(fp, fp + tn),
        "false_negative_rate": lambda: _ratio(fn, fn + tp),
        "f0_5": lambda: _fbeta(precision, recall, 0.5),
        "f1": lambda: _fbeta(precision, recall, 1.0),
        "f2": lambda: _fbeta(precision, recall, 2.0),
    }
    return table[metric]()


def _multiclass_metric(metric: str, predictions: Sequence[str], labels: Sequence[str]) -> float:
    predicted = [_label(p) for p in predictions]
    truth = [_label(t) for t in labels]
    if metric == "accuracy":
        return sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
    kind = metric.removeprefix("weighted_")
    support = Counter(truth)
    total = 0.0
    for cls, count in support.items():
        tp = sum(p == cls and t == cls for p, t in zip(predicted, truth, strict=True))
        fp = sum(p == cls and t != cls for p, t in zip(predicted, truth, strict=True))
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, count)
        per_class = {
            "precision": precision,
            "recall": recall,
            "f0_5": _fbeta(precision, recall, 0.5),
            "f1": _fbeta(precision, recall, 1.0),
            "f2": _fbeta(precision, recall, 2.0),
        }[kind]
        total += per_class * count
    return total / len(truth)


def _regression_metric(metric: str, predictions: Sequence[str], labels: Sequence[str]) -> float:
    yhat = _numbers_of(predictions, "predictions")
    y = _numbers_of(labels, "labels")
    errors = yhat - y
    if metric == "mae":
        return float(np.abs(errors).mean())
    mse = float((errors**2).mean())
    if metric == "mse":
        return mse
    if metric == "rmse":
        return math.sqrt(mse)
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float((errors**2).sum()) / total if total > 0 else math.nan


METRICS: dict[str, frozenset[str]] = {
    "binary": frozenset(
        {
            "accuracy",
            "auc",
            "precision",
            "recall",
            "f0_5",
            "f1",
            "f2",
            "true_positive_rate",
            "true_negative_rate",
            "false_positive_rate",
            "false_negative_rate",
        }
    ),
    "multiclass": frozenset(
        {"accuracy", "weighted_precision", "weighted_recall", "weighted_f0_5", "weighted_f1", "weighted_f2"}
    ),
    "regression": frozenset({"mae", "mse", "rmse", "r2"}),
}


def model_metric(problem: str, metric: str, predictions: Sequence[str], labels: Sequence[str]) -> float:
    """A model-quality metric of joined ``predictions`` and ``labels`` (CSV text values).

    Binary: predictions are labels 0/1 or scores in [0, 1]; accuracy, precision, recall, f1 (and
    f0_5, f2, the true/false positive/negative rates) count a score >= 0.5 as 1; auc ranks the
    scores (Mann-Whitney U, ties averaged: with hard 0/1 predictions it equals balanced accuracy).
    Multiclass: accuracy and weighted_{precision, recall, f0_5, f1, f2} (weighted by the labels'
    support). Regression: mae, mse, rmse, r2. NaN when undefined (auc with one class, r2 with
    constant labels, no pairs). An unknown problem or metric raises ``ValueError`` naming it.
    """
    if problem not in METRICS:
        raise ValueError(f"unknown problem {problem!r}; known: {', '.join(METRICS)}")
    if metric not in METRICS[problem]:
        raise ValueError(f"unknown {problem} metric {metric!r}; known: {', '.join(sorted(METRICS[problem]))}")
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions but {len(labels)} labels: join them first")
    if not predictions:
        return math.nan
    if problem == "binary":
        return _binary_metric(metric, predictions, labels)
    if problem == "multiclass":
        return _multiclass_metric(metric, predictions, labels)
    return _regression_metric(metric, predictions, labels)


@dataclass(frozen=True)
class QualityReport:
    """One model-quality check of one metric."""

    metric: str
    baseline: float
    current: float | None
    drop: float | None  # how much worse than the baseline, in the metric's units; positive = worse
    min_drop: float
    samples: int  # joined prediction/label pairs
    degraded: bool
    violations: tuple[Violation, ...]
    sufficient: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "baseline": _sig(self.baseline, 6),
            "current": _sig(self.current, 6),
            "drop": _sig(self.drop, 6),
            "min_drop": self.min_drop,
            "samples": self.samples,
            "degraded": self.degraded,
            "sufficient": self.sufficient,
            "violations": [v.to_dict() for v in self.violations],
        }


def _breaks(value: float, threshold: float, operator: str) -> bool:
    return {
        "LessThanThreshold": value < threshold,
        "GreaterThanThreshold": value > threshold,
        "LessThanOrEqualToThreshold": value <= threshold,
        "GreaterThanOrEqualToThreshold": value >= threshold,
    }[operator]


def check_model_quality(
    baseline: QualityBaseline,
    metric: str,
    predictions: Sequence[str],
    labels: Sequence[str],
    *,
    min_drop: float,
    min_samples: int = 100,
) -> QualityReport:
    """Judge ``metric`` on joined pairs against the baseline: degraded when there are at least
    ``min_samples`` pairs and either ``drop >= min_drop`` or the baseline's constraint on ``metric``
    itself is broken. The constraints on the other metrics this module computes are checked and
    reported as violations (naming the operator as ``constraint_check_type``), not judged: the
    monitor watches the metric it was asked to."""
    if metric not in baseline.metrics:
        known = ", ".join(sorted(baseline.metrics))
        raise ValueError(f"the baseline has no metric {metric!r}; known: {known}")
    if metric not in HIGHER_IS_BETTER and metric not in LOWER_IS_BETTER:
        raise ValueError(f"metric {metric!r}: neither higher- nor lower-is-better is known")
    samples = len(predictions)
    value = model_metric(baseline.problem, metric, predictions, labels)
    current = value if math.isfinite(value) else None
    reference = baseline.metrics[metric]
    drop: float | None = None
    if current is not None:
        drop = reference - current if metric in HIGHER_IS_BETTER else current - reference
    sufficient = samples >= min_samples
    violations: list[Violation] = []
    if sufficient:
        for name, (threshold, operator) in baseline.constraints.items():
            if name not in METRICS[baseline.problem]:
                continue
            measured = value if name == metric else model_metric(baseline.problem, name, predictions, labels)
            if math.isfinite(measured) and _breaks(measured, threshold, operator):
                text = f"Metric {name} with {measured:.4g} was {operator} {threshold:g}"
                violations.append(Violation(name, operator, text))
    own = any(v.feature_name == metric for v in violations)
    degraded = sufficient and ((drop is not None and drop >= min_drop) or own)
    return QualityReport(
        metric=metric,
        baseline=reference,
        current=current,
        drop=drop,
        min_drop=min_drop,
        samples=samples,
        degraded=degraded,
        violations=tuple(violations),
        sufficient=sufficient,
    )
