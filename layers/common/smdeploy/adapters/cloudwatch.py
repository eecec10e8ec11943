"""CloudWatch adapter: the candidate's alarms, alarm states and invocation counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, translate


class CloudWatchGateway:
    def __init__(self, cloudwatch: Any | None = None) -> None:
        self._given = cloudwatch

    @property
    def _cw(self) -> Any:
        """Where the endpoint is: a stage's account inside ``aws.acting_as``, else the stack's."""
        return self._given if self._given is not None else client("cloudwatch")

    def _alarms(self, names: list[str]) -> list[dict[str, Any]]:
        """The metric and composite alarms among ``names``."""
        if not names:
            return []
        try:
            found = self._cw.describe_alarms(AlarmNames=names)
        except AWS_ERRORS as exc:
            raise translate(exc, "DescribeAlarms") from exc
        return list(found.get("MetricAlarms", [])) + list(found.get("CompositeAlarms", []))

    def find_alarms(self, names: list[str]) -> list[dict[str, Any]]:
        """The metric and composite alarms among ``names``, as DescribeAlarms answers them."""
        return self._alarms(names)

    def missing_alarms(self, names: list[str]) -> list[str]:
        """Which of ``names`` are not CloudWatch metric or composite alarms."""
        present = {a["AlarmName"] for a in self._alarms(names)}
        return [name for name in names if name not in present]

    def alarm_states(self, names: list[str]) -> list[dict[str, str]]:
        alarms = self._alarms(names)
        return [
            {"name": a["AlarmName"], "state": a.get("StateValue", ""), "reason": a.get("StateReason", "")}
            for a in alarms
        ]

    def put_alarm(self, definition: dict[str, Any]) -> None:
        try:
            self._cw.put_metric_alarm(**definition)
        except AWS_ERRORS as exc:
            raise translate(exc, "PutMetricAlarm") from exc

    def put_metrics(self, namespace: str, data: list[dict[str, Any]]) -> None:
        """PutMetricData in pages of 1,000 datapoints (the API's limit per request)."""
        for start in range(0, len(data), 1000):
            try:
                self._cw.put_metric_data(Namespace=namespace, MetricData=data[start : start + 1000])
            except AWS_ERRORS as exc:
                raise translate(exc, "PutMetricData") from exc

    def delete_alarms(self, names: list[str]) -> None:
        if not names:
            return
        try:
            self._cw.delete_alarms(AlarmNames=names)
        except AWS_ERRORS as exc:
            raise translate(exc, "DeleteAlarms") from exc

    def invocations(self, endpoint: str, variant: str, start: datetime, end: datetime) -> float:
        """Sum of ``Invocations`` of one variant between ``start`` and ``end``."""
        return self.published_invocations(endpoint, variant, start, end)[0]

    def published_invocations(
        self, endpoint: str, variant: str, start: datetime, end: datetime
    ) -> tuple[float, datetime | None]:
        """Sum of ``Invocations`` of one variant between ``start`` and ``end``, and the end of the
        newest minute CloudWatch has published (None when it has none): SageMaker's metrics arrive
        late, so the newest minutes of the window may have no datapoint yet."""
        if end <= start:
            return 0.0, None
        try:
            answer = self._cw.get_metric_statistics(
                Namespace="AWS/SageMaker",
                MetricName="Invocations",
                Dimensions=[
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
                StartTime=start,
                EndTime=end,
                Period=60,
                Statistics=["Sum"],
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "GetMetricStatistics") from exc
        points = answer.get("Datapoints", [])
        newest = max((point["Timestamp"] for point in points if "Timestamp" in point), default=None)
        through = newest + timedelta(seconds=60) if newest is not None else None
        return float(sum(point.get("Sum", 0.0) for point in points)), through

    def alarms_with_prefix(self, prefix: str) -> list[dict[str, Any]]:
        """The metric alarms whose name starts with ``prefix``, as DescribeAlarms answers them."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"AlarmNamePrefix": prefix, "AlarmTypes": ["MetricAlarm"]}
        try:
            while True:
                page = self._cw.describe_alarms(**kwargs)
                found += [dict(a) for a in page.get("MetricAlarms", [])]
                if not page.get("NextToken"):
                    return found
                kwargs["NextToken"] = page["NextToken"]
        except AWS_ERRORS as exc:
            raise translate(exc, "DescribeAlarms") from exc

    def per_variant(
        self,
        namespace: str,
        metric: str,
        endpoint: str,
        variants: list[str],
        statistics: list[str],
        start: datetime,
        end: datetime,
    ) -> dict[str, dict[str, list[float]]]:
        """Per-minute values of one metric for each of ``variants`` (dimensions ``EndpointName`` and
        ``VariantName``), one series per statistic (``Sum``, ``SampleCount``, ``Average``, ``p99``...):
        ``{variant: {statistic: [value per published minute]}}``. One ``GetMetricData`` request (500
        queries at most; pages of results followed)."""
        if end <= start:
            return {variant: {stat: [] for stat in statistics} for variant in variants}
        queries, ids = [], {}
        for i, variant in enumerate(variants):
            for j, stat in enumerate(statistics):
                query_id = f"m{i}_{j}"
                ids[query_id] = (variant, stat)
                queries.append(
                    {
                        "Id": query_id,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": namespace,
                                "MetricName": metric,
                                "Dimensions": [
                                    {"Name": "EndpointName", "Value": endpoint},
                                    {"Name": "VariantName", "Value": variant},
                                ],
                            },
                            "Period": 60,
                            "Stat": stat,
                        },
                        "ReturnData": True,
                    }
                )
        found: dict[str, dict[str, list[float]]] = {v: {s: [] for s in statistics} for v in variants}
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        try:
            while True:
                page = self._cw.get_metric_data(**kwargs)
                for result in page.get("MetricDataResults", []):
                    variant, stat = ids[str(result["Id"])]
                    found[variant][stat] += [float(v) for v in result.get("Values", [])]
                if not page.get("NextToken"):
                    return found
                kwargs["NextToken"] = page["NextToken"]
        except AWS_ERRORS as exc:
            raise translate(exc, "GetMetricData") from exc

    def metric_published(self, namespace: str, metric: str, dimensions: list[dict[str, str]]) -> bool:
        """Whether CloudWatch knows the metric (``ListMetrics``: published in the last two weeks)."""
        try:
            page = self._cw.list_metrics(Namespace=namespace, MetricName=metric, Dimensions=dimensions)
        except AWS_ERRORS as exc:
            raise translate(exc, "ListMetrics") from exc
        return bool(page.get("Metrics"))
