"""Rehearse a scenario in the local cloud and build the report (the ``--json`` document)."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import shlex
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.engine.apicalls import SERVED_SERVICES, Fault
from localcloud.engine.cloud import LocalCloud
from localcloud.engine.template import TEMPLATE_PATH
from localcloud.scenario import consistency
from localcloud.scenario.contract import (
    AwsCallSpec,
    BaselineSpec,
    DriftSpec,
    Expect,
    PackageRef,
    Scenario,
    ScenarioError,
    Step,
    StopSpec,
    parameter_text,
    resolve_relative,
)
from localcloud.scenario.plot import judged_series
from localcloud.services.events import EventDelivery
from localcloud.services.sagemaker.baselines import (
    Baseline,
    Feature,
    FeatureChange,
    Quality,
    baseline_documents,
)
from localcloud.services.sagemaker.endpoints import (
    BusinessMetric,
    CapacityShortage,
    ModelBehaviour,
    SimulationSettings,
    SystemUpdatingWindow,
    package_key,
)
from localcloud.services.sagemaker.groundtruth import GroundTruthConfig
from localcloud.services.sagemaker.performance import PerformanceProfile
from localcloud.services.sagemaker.transforms import split_s3_uri
from smdeploy_cli import operator as operator_cli

# A scenario without ``until`` runs until nothing but background work (metric minutes, alarm
# evaluation, Model Monitor executions) is left to happen.
INFERENCE_SPEC = {
    "Containers": [
        {
            "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/sklearn-inference:1.2-1",
            # where SageMaker Pipelines put them: the account's SageMaker default bucket
            "ModelDataUrl": "s3://sagemaker-{region}-{account}/{group}/{version}/model.tar.gz",
        }
    ],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
    "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.xlarge"],
}


@dataclass
class CliRun:
    """One run of the operator CLI (a ``cli`` step): what it printed, its exit code once it ended."""

    at: float
    command: str
    stdout: io.StringIO = field(default_factory=io.StringIO)
    stderr: io.StringIO = field(default_factory=io.StringIO)
    exit_code: int | None = None  # None: still running (sleeping in ``--watch``) when the rehearsal ended
    ended_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "command": self.command,
            "exitCode": self.exit_code,
            "stdout": self.stdout.getvalue(),
            "stderr": self.stderr.getvalue(),
            "endedAt": self.ended_at,
        }


@dataclass
class Rehearsal:
    scenario: Scenario
    path: Path
    report: dict[str, Any] = field(default_factory=dict)
    timeline: list[tuple[float, str]] = field(default_factory=list)  # (t, text) of happenings
    aws_calls: list[dict[str, Any]] = field(default_factory=list)  # the scenario's hand-made calls
    stops: list[dict[str, Any]] = field(default_factory=list)  # StopExecution by an operator
    cli_runs: list[CliRun] = field(default_factory=list)  # the operator CLI, run by the scenario's cli steps

    @property
    def ok(self) -> bool:
        return bool(self.report.get("ok"))


def business_namespaces(scenario: Scenario) -> dict[str, str]:
    """group -> where its application publishes business metrics: the namespace of the group's
    ``strategy.primaryMetric``, unless that is an AWS namespace (``AWS/...`` is reserved for AWS
    products: "You cannot specify a namespace that begins with 'AWS/'", PutMetricData); the other
    groups get ``<group>/business`` (``SimulationSettings.business_namespace``)."""
    out: dict[str, str] = {}
    for group, config in scenario.groups.items():
        strategy = config.get("strategy") if isinstance(config, dict) else None
        metric = strategy.get("primaryMetric") if isinstance(strategy, dict) else None
        namespace = metric.get("namespace") if isinstance(metric, dict) else None
        if isinstance(namespace, str) and namespace and not namespace.startswith("AWS/"):
            out[group] = namespace
    return out


def baseline(spec: BaselineSpec | None, positive_rate: float = 0.2) -> Baseline | None:
    """The simulator's baseline of a scenario's ``models.<v>.baseline`` (``positive_rate``: the
    version's ``positiveRate``, from which its quality metrics follow)."""
    if spec is None:
        return None
    features = tuple(
        Feature(name, categories=tuple(f.categories.items()))
        if f.categories is not None
        else Feature(name, mean=f.mean, std=f.std)
        for name, f in spec.features.items()
    )
    quality = None
    if spec.quality is not None:
        given = {
            name: value
            for name, value in spec.quality.model_dump(exclude={"problem", "accuracy"}).items()
            if value is not None
        }
        quality = Quality(spec.quality.accuracy, tuple(given.items()), spec.quality.problem, positive_rate)
    return Baseline(features, quality)


def simulation_settings(scenario: Scenario) -> SimulationSettings:
    behaviours = {
        key: ModelBehaviour(
            error_rate=spec.errorRate,
            latency_ms=spec.latencyMs,
            latency_p99_ms=spec.latencyP99Ms,
            business_metrics={
                name: BusinessMetric(rate=metric.rate, reported=metric.reported)
                for name, metric in spec.businessMetrics.items()
            },
            positive_rate=spec.positiveRate,
            fail_deploy=spec.failDeploy,
            fail_invoke=spec.failInvoke,
            monitor=spec.monitor,
            transform_fails=spec.transformFails,
            profiles={
                instance_type: PerformanceProfile(
                    max_rps=profile.maxRps,
                    latency_ms=spec.profile_latency(profile)[0],
                    latency_p99_ms=spec.profile_latency(profile)[1],
                    concurrency=profile.concurrency,
                )
                for instance_type, profile in spec.profiles.items()
            },
            baseline=baseline(spec.baseline, spec.positiveRate),
            **({"failure_reason": spec.failureReason} if spec.failureReason else {}),
            **(
                {"transform_failure_reason": spec.transformFailureReason}
                if spec.transformFailureReason
                else {}
            ),
        )
        for key, spec in scenario.models.items()
    }
    sim = scenario.simulation
    return SimulationSettings(
        endpoint_create_seconds=sim.endpointCreateSeconds,
        endpoint_update_seconds=sim.endpointUpdateSeconds,
        endpoint_failure_seconds=sim.endpointFailureSeconds,
        endpoint_delete_seconds=sim.endpointDeleteSeconds,
        system_updating=[SystemUpdatingWindow(w.endpoint, w.at, w.seconds) for w in sim.systemUpdating],
        insufficient_capacity=[
            CapacityShortage(c.instanceType, c.at, c.until) for c in sim.insufficientCapacity
        ],
        weight_update_seconds=sim.weightUpdateSeconds,
        requests_per_minute=sim.requestsPerMinute,
        transform_seconds=sim.transformSeconds,
        no_traffic_metrics=sim.noTrafficMetrics,
        registry_events=sim.registryEvents,
        behaviours=behaviours,
        business_namespaces=business_namespaces(scenario),
        metric_delay_seconds=sim.metricDelaySeconds,
        list_metrics_delay_seconds=sim.listMetricsDelaySeconds,
        capture_records_per_object=sim.captureRecordsPerObject,
        recommender_default_seconds=sim.recommenderDefaultSeconds,
        recommender_advanced_seconds=sim.recommenderAdvancedSeconds,
        ground_truth=GroundTruthConfig(
            uri=scenario.groundTruth.uri,
            delay_minutes=scenario.groundTruth.delayMinutes,
            share=scenario.groundTruth.share,
        )
        if scenario.groundTruth is not None
        else None,
        events=EventDelivery(
            delay_seconds=sim.events.delaySeconds,
            duplicate_probability=sim.events.duplicate if isinstance(sim.events.duplicate, float) else 0.0,
            duplicate_detail_types=tuple(sim.events.duplicate)
            if isinstance(sim.events.duplicate, list)
            else (),
            duplicate_after_seconds=sim.events.duplicateAfterSeconds,
            registry_events_per_change=sim.events.registryEventsPerChange,
        ),
    )


class Runner:
    def __init__(
        self, scenario: Scenario, path: Path, *, template_path: Path = TEMPLATE_PATH, enforce_iam: bool = True
    ) -> None:
        self.scenario = scenario
        self.path = path
        self.template_path = template_path  # another template (a test's edited copy) instead of the repo's
        self.enforce_iam = enforce_iam  # off only to measure what IAM costs (bench/bench_strict.py)
        self.rehearsal = Rehearsal(scenario, path)
        self._buckets: set[str] = set()  # buckets made in the local S3 of the current run

    def note(self, cloud: LocalCloud, text: str) -> None:
        self.rehearsal.timeline.append((cloud.scheduler.now, text))

    # --- registry helpers ----------------------------------------------------------------
    def _package_arn(self, ref: PackageRef) -> str:
        s = self.scenario
        return f"arn:aws:sagemaker:{s.region}:{s.account}:model-package/{ref.group}/{ref.version}"

    def _register(self, cloud: LocalCloud, ref: PackageRef) -> str:
        sm = cloud.client("sagemaker")
        groups = {
            g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
        }
        if ref.group not in groups:
            sm.create_model_package_group(ModelPackageGroupName=ref.group)
        existing = sm.list_model_packages(ModelPackageGroupName=ref.group)["ModelPackageSummaryList"]
        for version in range(len(existing) + 1, ref.version + 1):
            spec = self.scenario.models.get(f"{ref.group}/{version}")
            inference = self._inference_spec(cloud, ref.group, version, spec.containers if spec else 1)
            kwargs: dict[str, Any] = {
                "ModelPackageGroupName": ref.group,
                "InferenceSpecification": inference,
                "ModelApprovalStatus": "PendingManualApproval",
            }
            if spec and spec.metadata:
                kwargs["CustomerMetadataProperties"] = spec.metadata
            if spec and spec.baseline:
                kwargs |= self._baseline_documents(
                    cloud, ref.group, version, spec.baseline, inference, spec.positiveRate
                )
            sm.create_model_package(**kwargs)
            self.note(cloud, f"registry   {ref.group}/{version} registered (PendingManualApproval)")
        return self._package_arn(ref)

    def _inference_spec(self, cloud: LocalCloud, group: str, version: int, containers: int) -> dict[str, Any]:
        """The package's InferenceSpecification; its artifacts are put in the local S3, as training would."""
        inference = json.loads(
            json.dumps(INFERENCE_SPEC)
            .replace("{group}", group)
            .replace("{version}", str(version))
            .replace("{region}", cloud.region)
            .replace("{account}", cloud.account)
        )
        if containers > 1:
            template = inference["Containers"][0]
            inference["Containers"] = [
                {
                    "ContainerHostname": f"step{i + 1}",
                    "Image": template["Image"],
                    "ModelDataUrl": template["ModelDataUrl"].replace(
                        "model.tar.gz", f"step{i + 1}/model.tar.gz"
                    ),
                }
                for i in range(containers)
            ]
        for container in inference["Containers"]:
            self._put_object(cloud, container["ModelDataUrl"], f"{group}/{version} model artifact")
        return dict(inference)

    def _baseline_documents(
        self,
        cloud: LocalCloud,
        group: str,
        version: int,
        spec: BaselineSpec,
        inference: dict[str, Any],
        positive_rate: float,
    ) -> dict[str, Any]:
        """Write what a pipeline's QualityCheck steps leave beside the model artifact (Model Monitor's
        statistics.json and constraints.json under ``s3://<artifact bucket>/baselines/<group>/<version>/``)
        and return the package's ``DriftCheckBaselines`` and ``ModelMetrics`` pointing at them."""
        bucket, _ = split_s3_uri(inference["Containers"][0]["ModelDataUrl"])
        built = baseline(spec, positive_rate)
        assert built is not None
        documents = baseline_documents(built, f"s3://{bucket}/baselines/{group}/{version}")
        for uri, document in documents.objects.items():
            self._put_object(cloud, uri, json.dumps(document, indent=2))
        return {
            "DriftCheckBaselines": documents.drift_check_baselines,
            "ModelMetrics": documents.model_metrics,
        }

    def _drift(self, cloud: LocalCloud, drift: DriftSpec) -> None:
        changes = {
            name: FeatureChange(
                mean=change.mean,
                std=change.std,
                categories=tuple(change.categories.items()) if change.categories is not None else None,
            )
            for name, change in drift.features.items()
        }
        described = cloud.drift.apply(drift.key, cloud.scheduler.now, changes, drift.accuracy)
        self.note(cloud, f"drift      {drift.key}: {'; '.join(described)}")

    def _set_approval(self, cloud: LocalCloud, ref: PackageRef, status: str) -> None:
        arn = self._register(cloud, ref)
        cloud.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
        self.note(cloud, f"registry   {ref.key} -> {status} (UpdateModelPackage)")

    # --- timeline -----------------------------------------------------------------------------
    def _do(self, cloud: LocalCloud, index: int, step: Step) -> None:
        # The scenario acts as a user of AWS here: injected faults are for the control plane's calls.
        with cloud.unfaulted():
            if step.stop is not None:
                self._stop(cloud, index, step.stop)
            elif step.aws is not None:
                self._aws_call(cloud, step.aws)
            elif step.cli is not None:
                self._cli(cloud, step.cli)
            else:
                self._step(cloud, step)

    def _stop(self, cloud: LocalCloud, index: int, stop: StopSpec) -> None:
        """StopExecution as from the console; the stopped execution unwinds now, in virtual time."""
        if stop.running:
            running = [arn for arn in cloud.executions if cloud.times[arn].stopped is None]
            if not running:
                self.note(cloud, "console    StopExecution: no execution running")
                return
            stop = StopSpec(execution=cloud.executions.index(running[-1]) + 1)
        assert stop.execution is not None
        if stop.execution > len(cloud.executions):
            raise ScenarioError(
                str(self.path),
                f"timeline[{index}].stop.execution",
                f"no execution {stop.execution} at t={cloud.scheduler.now:g} "
                f"({len(cloud.executions)} started by then)",
            )
        arn = cloud.executions[stop.execution - 1]
        if cloud.times[arn].started is None:  # started this very second: let it begin first
            cloud.scheduler.after(0, functools.partial(self._do, cloud, index, Step(at=0, stop=stop)))
            return
        status = cloud.stop_execution(arn)
        name = arn.rsplit(":", 1)[-1]
        self.rehearsal.stops.append({"at": cloud.scheduler.now, "execution": name, "status": status})
        self.note(cloud, f"console    StopExecution {name} -> {status}")

    def _aws_call(self, cloud: LocalCloud, spec: AwsCallSpec) -> None:
        """A call made by hand with boto3 (counted as external, never faulted)."""
        service, _, action = spec.call.partition(":")
        client = cloud.client(SERVED_SERVICES[service])
        entry: dict[str, Any] = {"at": cloud.scheduler.now, "call": spec.call, "params": spec.params}
        try:
            answer = getattr(client, xform_name(action))(**spec.params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            entry |= {"ok": False, "error": error.get("Code"), "message": error.get("Message")}
            outcome = f"{error.get('Code')}: {error.get('Message')}"
        except BotoCoreError as exc:
            entry |= {"ok": False, "error": type(exc).__name__, "message": str(exc)}
            outcome = f"{type(exc).__name__}: {exc}"
        else:
            result = {key: value for key, value in answer.items() if key != "ResponseMetadata"}
            entry |= {"ok": True, "result": json.loads(json.dumps(result, default=str))}
            outcome = "ok"
        self.rehearsal.aws_calls.append(entry)
        self.note(cloud, f"by hand    {spec.call} -> {outcome}")

    def _cli(self, cloud: LocalCloud, command: str) -> None:
        """The operator CLI (``smdeploy_cli.operator.run``) run by a person now, through the local cloud.

        As the scenario's ``aws`` steps: made by no principal of the template (a person with the
        account's rights, so IAM checks nothing), never faulted, counted as external calls. It runs
        as a participant of the scheduler, so that its ``sleep`` (``status --watch``) is virtual time
        in which everything else happens; ``now`` is the virtual clock. What it prints on stdout or
        stderr is kept; argparse's exit (a bad argument: usage and exit code 2) is its exit code, and
        an exception is a traceback and exit code 1, as ``python -m smdeploy_cli`` would end.
        """
        run = CliRun(cloud.scheduler.now, command)
        self.rehearsal.cli_runs.append(run)
        number = len(self.rehearsal.cli_runs)
        argv = shlex.split(command)  # checked when the scenario was loaded

        def person() -> None:
            outside = (sys.stdout, sys.stderr, cloud.api.injecting)

            def sleep(seconds: float) -> None:
                # While it sleeps the others run, printing where they print and faulted as ever.
                inside = (sys.stdout, sys.stderr, cloud.api.injecting)
                sys.stdout, sys.stderr, cloud.api.injecting = outside
                try:
                    cloud.scheduler.sleep(max(0.0, seconds))
                finally:
                    sys.stdout, sys.stderr, cloud.api.injecting = inside

            with (
                cloud.unfaulted(),
                cloud.iam.as_nobody(),
                contextlib.redirect_stdout(run.stdout),
                contextlib.redirect_stderr(run.stderr),
            ):
                try:
                    code = operator_cli.run(
                        argv, session=cloud, out=run.stdout, now=cloud.scheduler.datetime, sleep=sleep
                    )
                except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                    if exc.code is None or isinstance(exc.code, int):
                        code = exc.code or 0
                    else:  # sys.exit("message"), as Python ends then
                        print(exc.code, file=run.stderr)
                        code = 1
                except Exception:  # the CLI crashed: its traceback, exit code 1
                    traceback.print_exc(file=run.stderr)
                    code = 1
            run.exit_code, run.ended_at = code, cloud.scheduler.now

        cloud.scheduler.spawn(person, name=f"cli:{number}", key=f"cli:{number}")

    def _step(self, cloud: LocalCloud, step: Step) -> None:
        if step.register_ is not None:
            self._register(cloud, step.register_)
        elif step.approve is not None:
            self._set_approval(cloud, step.approve, "Approved")
        elif step.reject is not None:
            self._set_approval(cloud, step.reject, "Rejected")
        elif step.event is not None:
            file = resolve_relative(self.path, step.event)
            assert file is not None  # checked when the scenario was loaded
            event = json.loads(file.read_text())
            self.note(cloud, f"event      put {step.event}")
            cloud.put_event(event)
        elif step.start is not None:
            arn = cloud.start_execution(step.start.stateMachine, step.start.input)
            self.note(
                cloud, f"console    StartExecution {step.start.stateMachine} -> {arn.rsplit(':', 1)[-1]}"
            )
        elif step.schedule is not None:
            fired = cloud.fire_schedule(step.schedule)
            target = fired.get("execution", fired["target"]).rsplit(":", 1)[-1]
            disabled = "" if fired["enabled"] else " (State DISABLED in the template: fired as if ENABLED)"
            self.note(
                cloud,
                f"schedule   {step.schedule} fired for {fired['scheduledTime']} -> {target}{disabled}",
            )
        elif step.drift is not None:
            self._drift(cloud, step.drift)
        elif step.setAlarm is not None:
            target = step.setAlarm
            try:
                with cloud.quietly():
                    cloud.client("cloudwatch").set_alarm_state(
                        AlarmName=target.name, StateValue=target.state, StateReason=target.reason
                    )
            except ClientError as exc:  # e.g. an alarm the control plane has not created (yet)
                self.note(
                    cloud, f"alarm      SetAlarmState {target.name} failed: {exc.response['Error']['Code']}"
                )
            else:
                self.note(cloud, f"alarm      SetAlarmState {target.name} {target.state}")

    # --- set-up -----------------------------------------------------------------------------
    def _create_alarms(self, cloud: LocalCloud) -> None:
        cw = cloud.client("cloudwatch")
        for alarm in self.scenario.alarms:
            kwargs: dict[str, Any] = {
                "AlarmName": alarm.name,
                "Namespace": alarm.namespace,
                "MetricName": alarm.metric,
                "Dimensions": alarm.dimension_list(),
                "Period": alarm.period,
                "EvaluationPeriods": alarm.evaluationPeriods,
                "Threshold": alarm.threshold,
                "ComparisonOperator": alarm.comparison,
                "TreatMissingData": alarm.treatMissingData,
            }
            if alarm.statistic.startswith("p"):
                kwargs["ExtendedStatistic"] = alarm.statistic
            else:
                kwargs["Statistic"] = alarm.statistic
            if alarm.datapointsToAlarm is not None:
                kwargs["DatapointsToAlarm"] = alarm.datapointsToAlarm
            if alarm.description:
                kwargs["AlarmDescription"] = alarm.description
            cw.put_metric_alarm(**kwargs)
            if alarm.state is not None:
                cw.set_alarm_state(
                    AlarmName=alarm.name,
                    StateValue=alarm.state,
                    StateReason="initial state set by the scenario",
                )

    def _create_monitors(self, cloud: LocalCloud) -> None:
        for endpoint, spec in self.scenario.monitors.items():
            name = spec.name or f"{endpoint}-monitor"
            cloud.monitor.create_schedule(
                cloud.sagemaker_backend(),
                name=name,
                config={"MonitoringType": spec.type},
                every_minutes=spec.everyMinutes,
                start_delay=spec.startDelayMinutes * 60.0,
                run=spec.runMinutes * 60.0,
                endpoint=endpoint,
                check_endpoint=False,  # the schedule waits for the endpoint the rehearsal deploys
            )

    def _put_data(self, cloud: LocalCloud) -> None:
        """The scenario's ``data``: objects in the local S3 before the timeline starts; and the
        bucket ground-truth labels are uploaded to."""
        for uri, text in self.scenario.data.items():
            self._put_object(cloud, uri, text)
        if self.scenario.groundTruth is not None:
            self._create_bucket(cloud, split_s3_uri(self.scenario.groundTruth.uri)[0])
        for bucket, document in self.scenario.bucketPolicies.items():
            self._create_bucket(cloud, bucket)
            cloud.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))

    def _put_object(self, cloud: LocalCloud, uri: str, text: str) -> None:
        bucket, key = split_s3_uri(uri)
        self._create_bucket(cloud, bucket)
        cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode())

    def _create_bucket(self, cloud: LocalCloud, bucket: str) -> None:
        s3 = cloud.client("s3")
        if bucket not in self._buckets:
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if cloud.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": cloud.region}
            try:
                s3.create_bucket(**kwargs)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
            self._buckets.add(bucket)

    @contextlib.contextmanager
    def open(self, until: float | None) -> Iterator[LocalCloud]:
        """Set the scenario up in a new local cloud, rehearse its timeline up to ``until`` (None:
        until only background work is left) and yield the cloud, still running."""
        s = self.scenario
        self._buckets = set()
        faults = [
            Fault(call=f.call, error=f.error, times=f.times, after=f.after, message=f.message, mode=f.mode)
            for f in s.faults
        ]
        with LocalCloud(
            self.template_path,
            region=s.region,
            account=s.account,
            simulation=simulation_settings(s),
            faults=faults,
            parameters={name: parameter_text(value) for name, value in s.parameters.items()},
            enforce_iam=self.enforce_iam,
            accounts={
                account_id: {name: parameter_text(value) for name, value in values.items()}
                for account_id, values in s.accounts.items()
            },
        ) as cloud:
            prefix = cloud.template.parameters["GroupConfigPrefix"]
            with cloud.quietly():
                ssm = cloud.client("ssm")
                for group, config in s.groups.items():
                    ssm.put_parameter(Name=f"{prefix}{group}", Value=json.dumps(config), Type="String")
                self._create_alarms(cloud)
                self._create_monitors(cloud)
                self._put_data(cloud)
            for index, step in enumerate(s.timeline):
                cloud.scheduler.at(step.at, functools.partial(self._do, cloud, index, step))
            cloud.run(until)
            yield cloud

    def run(self) -> Rehearsal:
        wall_start = time.perf_counter()
        with self.open(self.scenario.until) as cloud, cloud.quietly():
            self.rehearsal.report = build_report(self, cloud, time.perf_counter() - wall_start)
        return self.rehearsal


def _outcome_from_records(cloud: LocalCloud, table: str, arn: str) -> dict[str, Any] | None:
    item = (
        cloud.client("dynamodb")
        .get_item(TableName=table, Key={"pk": {"S": f"DEPLOYMENT#{arn}"}, "sk": {"S": "RECORD"}})
        .get("Item")
    )
    if not item:
        return None
    return {key: next(iter(value.values())) for key, value in item.items()}


def _timestamp(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def describe_executions(cloud: LocalCloud) -> list[dict[str, Any]]:
    sfn = cloud.client("stepfunctions")
    table = next(iter(cloud.template.tables()))
    out = []
    for arn in cloud.executions:
        described = sfn.describe_execution(executionArn=arn)
        history = cloud.execution_history(arn)
        entered = [e for e in history if str(e["type"].value).endswith("StateEntered")]
        record = _outcome_from_records(cloud, table, arn)
        output = json.loads(described["output"]) if described.get("output") else None
        times = cloud.times.get(arn)
        out.append(
            {
                "name": described["name"],
                "arn": arn,
                "stateMachine": cloud.execution_machine[arn],
                "status": described["status"],
                "outcome": (record or {}).get("outcome") or (output or {}).get("outcome"),
                "error": described.get("error"),
                "cause": described.get("cause"),
                "transitions": len(entered),
                "historyEvents": len(history),
                "startedAt": times.started if times else None,
                "stoppedAt": times.stopped if times else None,
                "output": output,
                "states": [
                    {
                        "name": e["stateEnteredEventDetails"]["name"],
                        "at": (_timestamp(e["timestamp"]) - cloud.scheduler.epoch).total_seconds(),
                    }
                    for e in entered
                ],
                "verdicts": _verdicts(cloud, history),
                "failures": _failures(cloud, history),
                "notes": json.loads((record or {}).get("notes") or "[]"),  # stored as JSON text
                "modelPackageArn": (record or {}).get("modelPackageArn"),
                # the judge's last verdict, else a shadow test's (stored as JSON text)
                "verdict": (record or {}).get("verdict")
                or json.loads((record or {}).get("shadow") or "{}").get("verdict"),
                "experiment": json.loads((record or {}).get("experiment") or "null"),
                "loadTest": json.loads((record or {}).get("loadTest") or "null"),
            }
        )
    return out


JUDGE_STATE = "Judge candidate"
SHADOW_JUDGE_STATE = "Judge shadow"
NOTHING_CHECKED = "the scenario has no expect: nothing was checked"


FAILURE_DETAILS = (
    "lambdaFunctionFailedEventDetails",
    "lambdaFunctionTimedOutEventDetails",
    "taskFailedEventDetails",
)


def _failures(cloud: LocalCloud, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each failed attempt of a task (retried or caught), with the error name the ASL saw."""
    failures, state = [], None
    for event in history:
        entered = event.get("stateEnteredEventDetails")
        if entered:
            state = entered.get("name")
        details = next((event[key] for key in FAILURE_DETAILS if key in event), None)
        if details is not None:
            failures.append(
                {
                    "at": (_timestamp(event["timestamp"]) - cloud.scheduler.epoch).total_seconds(),
                    "state": state,
                    "error": details.get("error"),
                }
            )
    return failures


def _verdicts(cloud: LocalCloud, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each check of a canary bake that decided something (or extended the bake), with its reasons;
    for an A/B test also every look, decided or not: ``look`` (its number) and ``experiment`` (the
    test's state after it: estimates, effect, confidence sequence, p-value, summary line)."""
    verdicts = []
    looked = 0
    for event in history:
        details = event.get("stateExitedEventDetails") or {}
        if details.get("name") not in (JUDGE_STATE, SHADOW_JUDGE_STATE) or not details.get("output"):
            continue
        shadow = details["name"] == SHADOW_JUDGE_STATE
        judgement = json.loads(details["output"]).get("shadow" if shadow else "judgement") or {}
        experiment = judgement.get("experiment")
        # a check that waits for CloudWatch to publish the last minutes carries the previous look
        look = int(experiment.get("looks") or 0) if isinstance(experiment, dict) else 0
        new_look = look > looked
        looked = max(looked, look)
        extended = any("bake extended" in reason for reason in judgement.get("reasons", []))
        if judgement.get("decision") == "WAIT" and not extended and not new_look:
            continue
        verdict = {
            "at": (_timestamp(event["timestamp"]) - cloud.scheduler.epoch).total_seconds(),
            "step": int(judgement.get("stepIndex", 0)) + 1,  # 0: a shadow test's look
            "percent": judgement.get("percent"),
            "verdict": judgement.get("verdict"),
            "decision": judgement.get("decision"),
            "reasons": judgement.get("reasons", []),
        }
        if new_look:
            verdict |= {"look": look, "experiment": experiment}
        verdicts.append(verdict)
    return verdicts


def _monitors(cloud: LocalCloud, endpoint: str) -> dict[str, Any]:
    """What watches ``endpoint``: smdeploy's drift schedule (the version it watches, its baselines),
    the drift and quality alarms, and the Model Monitor schedules on the endpoint."""
    found: dict[str, Any] = {}
    try:
        schedule = cloud.client("scheduler").get_schedule(Name=f"smdeploy-drift-{endpoint}"[:64])
        spec = json.loads(schedule["Target"]["Input"]).get("monitor") or {}
        found["schedule"] = {
            "name": schedule["Name"],
            "expression": schedule["ScheduleExpression"],
            "version": spec.get("version"),
            "engine": spec.get("engine"),
            "baselines": {
                kind: (spec.get(kind) or {}).get("statistics")
                for kind in ("dataQuality", "modelQuality")
                if spec.get(kind)
            },
        }
    except (ClientError, KeyError, ValueError):
        pass
    alarms = cloud.client("cloudwatch").describe_alarms(
        AlarmNames=[f"smdeploy-drift-{endpoint}", f"smdeploy-quality-{endpoint}"]
    )["MetricAlarms"]
    if alarms:
        found["alarms"] = [
            {"name": a["AlarmName"], "state": a["StateValue"], "watches": a.get("AlarmDescription")}
            for a in alarms
        ]
    schedules = cloud.client("sagemaker").list_monitoring_schedules(EndpointName=endpoint)
    names = [s["MonitoringScheduleName"] for s in schedules.get("MonitoringScheduleSummaries", [])]
    if names:
        found["modelMonitorSchedules"] = names
    return found


def describe_endpoints(cloud: LocalCloud) -> dict[str, Any]:
    """Every endpoint of every rehearsed account (one of another account says which)."""
    endpoints: dict[str, Any] = {}
    for account in cloud.all_accounts:
        found = _describe_endpoints_in(cloud, account)
        if account != cloud.account:
            for entry in found.values():
                entry["account"] = account
        endpoints.update(found)
    return dict(sorted(endpoints.items()))


def _describe_endpoints_in(cloud: LocalCloud, account: str) -> dict[str, Any]:
    sm = cloud.client("sagemaker", account)
    endpoints: dict[str, Any] = {}
    summaries = [s for page in sm.get_paginator("list_endpoints").paginate() for s in page["Endpoints"]]
    registrations = _autoscaling(cloud) if account == cloud.account else {}
    for summary in sorted(summaries, key=lambda s: s["EndpointName"]):
        name = summary["EndpointName"]
        described = sm.describe_endpoint(EndpointName=name)
        try:
            config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        except ClientError:  # the live config may be deleted; the endpoint keeps serving
            config = {"ProductionVariants": []}
        by_name = {v["VariantName"]: v for v in config["ProductionVariants"]}
        scaled = registrations.get(name, {})
        live_packages = cloud.sagemaker_sim.live_packages(name)
        variants = []
        for live in described.get("ProductionVariants", []):
            configured = by_name.get(live["VariantName"], {})
            try:
                model = sm.describe_model(ModelName=configured["ModelName"]) if configured else {}
            except ClientError:
                model = {}
            containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
            package_arn = next((c.get("ModelPackageName") for c in containers if c), None)
            hosting: dict[str, Any] = {}
            if len(containers) > 1:
                mode = cloud.sagemaker_sim.execution_modes.get(str(configured.get("ModelName")), "Serial")
                hosting["containers"] = {"count": len(containers), "mode": mode}
            multi = next((c for c in containers if c.get("Mode") == "MultiModel"), None)
            if multi is not None:
                hosting["multiModel"] = {
                    "artifactPrefix": multi.get("ModelDataUrl"),
                    "targetModels": _objects_under(cloud, str(multi.get("ModelDataUrl"))),
                }
            known = live_packages.get(live["VariantName"], "")
            if package_arn is None and not known.startswith("model:") and "/" in known:
                package_arn = f"arn:aws:sagemaker:{cloud.region}:{cloud.account}:model-package/{known}"
            weight = live.get("CurrentWeight", configured.get("InitialVariantWeight", 1.0))
            variants.append(
                {
                    "name": live["VariantName"],
                    "modelName": configured.get("ModelName"),
                    "modelPackageArn": package_arn,
                    "weight": float(weight if weight is not None else 1.0),
                    "instanceCount": live.get("CurrentInstanceCount", configured.get("InitialInstanceCount")),
                    "instanceType": configured.get("InstanceType"),
                    **(
                        {"serverless": configured["ServerlessConfig"]}
                        if configured.get("ServerlessConfig")
                        else {}
                    ),
                    **({"autoscaling": scaled[live["VariantName"]]} if live["VariantName"] in scaled else {}),
                    **hosting,
                }
            )
        endpoints[name] = {
            "status": described["EndpointStatus"],
            "endpointConfigName": described["EndpointConfigName"],
            "variants": variants,
            "settings": {
                key: config[key]
                for key in ("DataCaptureConfig", "AsyncInferenceConfig", "KmsKeyId")
                if config.get(key) not in (None, {}, [])
            },
        }
        if described.get("FailureReason"):
            endpoints[name]["failureReason"] = described["FailureReason"]
        monitors = _monitors(cloud, name) if account == cloud.account else {}
        if monitors:
            endpoints[name]["monitors"] = monitors
        pending = described.get("PendingDeploymentSummary")
        if pending:
            endpoints[name]["pendingEndpointConfigName"] = pending["EndpointConfigName"]
    return endpoints


def _objects_under(cloud: LocalCloud, prefix: str) -> list[str]:
    """Names of the objects directly under an S3 prefix (the models of a multi-model endpoint)."""
    bucket, key = split_s3_uri(prefix)
    try:
        listed = cloud.client("s3").list_objects_v2(Bucket=bucket, Prefix=key)
    except ClientError:
        return []
    return sorted(str(o["Key"])[len(key) :] for o in listed.get("Contents", []))


def _autoscaling(cloud: LocalCloud) -> dict[str, dict[str, dict[str, Any]]]:
    """endpoint -> variant -> its Application Auto Scaling registration (min, max, policy names)."""
    aas = cloud.client("application-autoscaling")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for target in aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]:
        parts = str(target["ResourceId"]).split("/")
        if len(parts) != 4 or parts[0] != "endpoint" or parts[2] != "variant":
            continue
        policies = aas.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=target["ResourceId"]
        )
        out.setdefault(parts[1], {})[parts[3]] = {
            "minCapacity": target["MinCapacity"],
            "maxCapacity": target["MaxCapacity"],
            "policies": sorted(p["PolicyName"] for p in policies["ScalingPolicies"]),
        }
    return out


def describe_invocations(cloud: LocalCloud) -> dict[str, dict[str, dict[str, Any]]]:
    """endpoint -> variant -> requests and 5XX errors over the whole rehearsal; a shadow variant says
    ``shadow: true`` (its requests are copies), business metrics give their namespace, reported
    outcomes (SampleCount) and successes (Sum), and data capture the records written."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    series = cloud.traffic.series
    for (metric, endpoint, variant), minutes in sorted(series.data.items()):
        namespace = series.namespace_of((metric, endpoint, variant))
        if metric not in ("Invocations", "Invocation5XXErrors") and namespace == "AWS/SageMaker":
            continue
        entry = out.setdefault(endpoint, {}).setdefault(variant, {"requests": 0.0, "errors": 0.0})
        if namespace != "AWS/SageMaker":
            entry.setdefault("business", {})[metric] = {
                "namespace": namespace,
                "reported": sum(stat.count for stat in minutes.values()),
                "successes": sum(stat.total for stat in minutes.values()),
            }
            continue
        total = sum(stat.total for stat in minutes.values())
        entry["requests" if metric == "Invocations" else "errors"] = total
    for endpoint, history in cloud.sagemaker_sim.shadow_serving.items():
        for name in {v.name for _, snapshot in history for v in snapshot}:
            if name in out.get(endpoint, {}):
                out[endpoint][name]["shadow"] = True
    for captured in cloud.traffic.capture.objects:
        found = out.get(captured.endpoint, {}).get(captured.variant)
        if found is not None:
            found["captured"] = found.get("captured", 0) + captured.records
    return out


def _config_details(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    """Endpoint config name -> the settings that must survive updates (data capture, async, KMS)."""
    details = {}
    for account in cloud.all_accounts:
        sm = cloud.client("sagemaker", account)
        for name in _names(cloud, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", account):
            described = sm.describe_endpoint_config(EndpointConfigName=name)
            details[name] = {
                key: described[key]
                for key in ("DataCaptureConfig", "AsyncInferenceConfig", "KmsKeyId")
                if described.get(key) not in (None, {}, [])
            }
    return details


def _config_resources(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    """Endpoint config name -> the models its variants use and whether a rollout tagged it
    transitional (a two-variant canary config, never meant to outlive its rollout)."""
    out = {}
    for account in cloud.all_accounts:
        sm = cloud.client("sagemaker", account)
        for name in _names(cloud, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", account):
            described = sm.describe_endpoint_config(EndpointConfigName=name)
            tags = {
                t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=described["EndpointConfigArn"])["Tags"]
            }
            out[name] = {
                "models": sorted({str(v.get("ModelName")) for v in described["ProductionVariants"]}),
                "transitional": tags.get("smdeploy:rollout") == "transitional",
            }
    return out


def _names(cloud: LocalCloud, operation: str, key: str, name: str, account: str | None = None) -> list[str]:
    """Every resource name a SageMaker List* operation returns (all pages) in an account, sorted."""
    pages = cloud.client("sagemaker", account).get_paginator(operation).paginate()
    return sorted(item[name] for page in pages for item in page[key])


def describe_alarms(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    """alarm name -> final state (and why it was not evaluated, if it was not)."""
    out: dict[str, dict[str, Any]] = {}
    alarms = [
        alarm
        for account in cloud.all_accounts
        for alarm in cloud.client("cloudwatch", account).describe_alarms()["MetricAlarms"]
    ]
    for alarm in alarms:
        entry: dict[str, Any] = {"state": alarm["StateValue"], "reason": alarm["StateReason"]}
        why = cloud.alarms.skipped.get(alarm["AlarmName"])
        if why:
            entry["notEvaluated"] = why
        out[alarm["AlarmName"]] = entry
    return out


def describe_transform_jobs(cloud: LocalCloud) -> list[dict[str, Any]]:
    """Transform jobs in creation order, as the simulator ran them."""
    return [
        {
            "name": job.name,
            "status": job.status,
            "modelName": job.model_name,
            "modelPackageArn": job.model_package_arn,
            "createdAt": job.created_at,
            "endedAt": job.ended_at,
            "failureReason": job.failure_reason,
            "inputPrefix": job.input_prefix,
            "outputPrefix": job.output_prefix,
            "outputObjects": list(job.output_objects),
        }
        for job in cloud.sagemaker_sim.transforms.jobs
    ]


def describe_async_invocations(cloud: LocalCloud) -> list[dict[str, Any]]:
    """Asynchronous invocations of functions (by rules and schedules), one entry per attempt."""
    return [
        {
            "at": i.at,
            "function": i.function,
            "trigger": i.trigger,
            "attempt": i.attempt,
            "ok": i.ok,
            "result": i.result if i.ok else None,
            "errorType": i.error_type,
            "errorMessage": i.error_message,
        }
        for i in cloud.async_invocations
    ]


def _contains(actual: Any, expected: Any) -> bool:
    """``expected`` is a part of ``actual``: same keys with the same values, recursively."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def serving(endpoint: dict[str, Any]) -> str | None:
    """``group/version`` that receives 100% of the endpoint's traffic, if exactly one does."""
    live = [v for v in endpoint["variants"] if v["weight"] > 0]
    keys = {package_key(v["modelPackageArn"] or "") for v in live}
    if endpoint["status"] != "InService" or len(keys) != 1:
        return None
    return keys.pop()


def check(expect: Expect, report: dict[str, Any]) -> tuple[bool, str]:
    if expect.endpoint is not None:
        endpoint = report["endpoints"].get(expect.endpoint)
        if expect.converged is not None:
            gaps = consistency.problems(report, expect.endpoint)
            return (not gaps) == expect.converged, "; ".join(gaps) or "converged"
        if expect.absent is not None:
            present = endpoint is not None
            return present != expect.absent, ("exists" if present else "does not exist")
        if endpoint is None:
            return False, "does not exist"
        if expect.status is not None and endpoint["status"] != expect.status:
            return False, f"status is {endpoint['status']}"
        if expect.serving is not None:
            actual = serving(endpoint)
            weights = ", ".join(
                f"{package_key(v['modelPackageArn'] or '?')}@{v['weight']:g}" for v in endpoint["variants"]
            )
            if actual != expect.serving:
                return False, f"{endpoint['status']}, variants {weights}"
        if expect.settings is not None and not _contains(endpoint["settings"], expect.settings):
            return False, f"settings are {json.dumps(endpoint['settings'], default=str)}"
        if expect.containers is not None:
            found = [v.get("containers") for v in endpoint["variants"] if v["weight"] > 0]
            if not found or not all(c is not None and _contains(c, expect.containers) for c in found):
                return False, f"serving variants' containers: {found}"
        if expect.targetModels is not None:
            found = [(v.get("multiModel") or {}).get("targetModels") for v in endpoint["variants"]]
            if not found or any(models != sorted(expect.targetModels) for models in found):
                return False, f"models under the multi-model prefix: {found}"
        if expect.monitoredBy is not None:
            monitors = endpoint.get("monitors") or {}
            watched = (monitors.get("schedule") or {}).get("version")
            others = [
                text
                for text in [
                    *(str(a.get("watches")) for a in monitors.get("alarms") or []),
                    *(str(b) for b in ((monitors.get("schedule") or {}).get("baselines") or {}).values()),
                    *(monitors.get("modelMonitorSchedules") or []),
                ]
                if expect.monitoredBy not in text and f"-v{expect.monitoredBy.rsplit('/', 1)[1]}" not in text
            ]
            if watched != expect.monitoredBy or others:
                return False, f"monitors: {json.dumps(monitors, default=str)}"
        if expect.autoscaling is not None:
            live = [v for v in endpoint["variants"] if v["weight"] > 0]
            found = [v.get("autoscaling") for v in live]
            if not live or not all(a is not None and _contains(a, expect.autoscaling) for a in found):
                return False, f"serving variants' autoscaling: {found}"
        return True, f"status is {endpoint['status']}"
    if expect.cli is not None:
        return _check_cli(expect, report["cliRuns"])
    if expect.notified is not None:
        subjects = [str(n.get("subject")) for n in report["notifications"]]
        sent = [subject for subject in subjects if expect.notified in subject]
        return bool(sent), (sent[0] if sent else f"notifications: {subjects}")
    if expect.execution is not None:
        executions = report["executions"]
        if expect.execution > len(executions):
            return False, f"only {len(executions)} executions started"
        ex = executions[expect.execution - 1]
        problems = []
        if expect.outcome is not None and ex["outcome"] != expect.outcome:
            problems.append(f"outcome {ex['outcome']}")
        if expect.status is not None and ex["status"] != expect.status:
            problems.append(f"status {ex['status']}")
        if expect.error is not None and ex["error"] != expect.error:
            problems.append(f"error {ex['error']}")
        if expect.cause is not None and expect.cause not in (ex["cause"] or ""):
            problems.append(f"cause {ex['cause']!r}")
        if expect.verdict is not None and ex.get("verdict") != expect.verdict:
            problems.append(f"verdict {ex.get('verdict')}")
        detail = f"{ex['name']}: {ex['status']}, outcome {ex['outcome']}" + (
            f", error {ex['error']}" if ex["error"] else ""
        )
        return not problems, detail
    if expect.executions is not None:
        count = len(report["executions"])
        return count == expect.executions, f"{count} executions started"
    if expect.transformJobs is not None:
        count = len(report["transformJobs"])
        return count == expect.transformJobs, f"{count} transform jobs created"
    if expect.transformJob is not None:
        jobs = report["transformJobs"]
        if expect.transformJob > len(jobs):
            return False, f"only {len(jobs)} transform jobs created"
        job = jobs[expect.transformJob - 1]
        package = package_key(job["modelPackageArn"]) if job["modelPackageArn"] else None
        problems = []
        if expect.status is not None and job["status"] != expect.status:
            problems.append("status")
        if expect.modelPackage is not None and package != expect.modelPackage:
            problems.append("package")
        if expect.failureReason is not None and expect.failureReason not in (job["failureReason"] or ""):
            problems.append("reason")
        reason = f", {job['failureReason']}" if job["failureReason"] else ""
        return not problems, f"{job['name']}: {job['status']} with {package or job['modelName']}{reason}"
    if expect.outputs is not None:
        written = [
            uri
            for job in report["transformJobs"]
            for uri in job["outputObjects"]
            if uri.startswith(expect.outputs.prefix)
        ]
        count = len(written)
        return count == expect.outputs.count, f"{count} output objects under {expect.outputs.prefix}"
    calls = report["apiCalls"]
    made = {call: calls[call] for call in expect.noCalls or [] if calls.get(call)}
    return not made, (f"made: {made}" if made else "none made")


def _check_cli(expect: Expect, runs: list[dict[str, Any]]) -> tuple[bool, str]:
    assert expect.cli is not None
    if expect.cli > len(runs):
        return False, f"only {len(runs)} cli runs"
    run = runs[expect.cli - 1]
    printed = run["stdout"] + run["stderr"]
    wanted = expect.exitCode if expect.exitCode is not None else 0
    ended = "still running" if run["exitCode"] is None else f"exit {run['exitCode']}"
    detail = f"$ smdeploy {run['command']} -> {ended}"
    if run["exitCode"] != wanted:
        first = printed.strip().splitlines()[:1]
        return False, detail + (f": {first[0]}" if first else "")
    if expect.output is not None and expect.output not in printed:
        return False, f"{detail}; {expect.output!r} not in its output: {printed.strip()[:300]!r}"
    return True, detail


def build_report(runner: Runner, cloud: LocalCloud, wall: float) -> dict[str, Any]:
    s = runner.scenario
    report: dict[str, Any] = {
        "scenario": {"name": s.name, "file": str(runner.path)},
        "virtualSeconds": cloud.scheduler.now,
        "wallSeconds": round(wall, 4),
        "executions": describe_executions(cloud),
        "endpoints": describe_endpoints(cloud),
        "transformJobs": describe_transform_jobs(cloud),
        "transformJobStatusChanges": [
            {"at": t, "transformJob": name, "status": status}
            for t, name, status in cloud.sagemaker_sim.transforms.status_log
        ],
        "scheduleFirings": [
            {key: value for key, value in fired.items() if key != "execution"}
            | ({"execution": fired["execution"].rsplit(":", 1)[-1]} if "execution" in fired else {})
            for fired in cloud.schedule_firings
        ],
        "asyncInvocations": describe_async_invocations(cloud),
        # EventBridge Scheduler schedules created through the API: per group/name, firings by outcome
        "schedulerFirings": cloud.eventbridge_scheduler.summary(),
        "locks": cloud.locks(),
        "apiCalls": dict(sorted(cloud.api.counts.items())),
        "controlPlaneApiCalls": dict(sorted(cloud.api.control_plane().items())),
        "events": [
            {
                "at": d.at,
                "id": d.event.get("id"),
                "attempt": d.attempt,  # 2: EventBridge delivered the same event again
                "source": d.event.get("source"),
                "detailType": d.event.get("detail-type"),
                "resources": d.event.get("resources", []),
                **(
                    {"status": d.event["detail"]["status"]}
                    if isinstance(d.event.get("detail"), dict) and "status" in d.event["detail"]
                    else {}
                ),
                "matchedRules": d.matched_rules,
            }
            for d in cloud.bus.deliveries
        ],
        "endpointStatusChanges": [
            {"at": t, "endpoint": name, "status": status}
            for t, name, status in cloud.sagemaker_sim.status_log
        ],
        "guardrails": [
            {"at": t, "endpoint": name, "event": what} for t, name, what in cloud.sagemaker_sim.guardrails_log
        ],
        "scalingActivities": [
            {
                "at": a.at,
                "endpoint": a.endpoint,
                "variant": a.variant,
                "from": a.before,
                "to": a.after,
                "cause": a.cause,
            }
            for a in cloud.scaling.activities
        ],
        "notifications": cloud.notifications(),
        # IAM from template.yaml: every call a principal of the stack made was authorized; these were not.
        "iamChecks": cloud.iam.checked,
        "accessDenied": [denial.as_json() for denial in cloud.iam.denials],
        "otherAccounts": list(cloud.accounts),  # stage-account.yaml deployed in each
        # events of other accounts' resources: on their own buses, not delivered here
        "eventsElsewhere": cloud.events_elsewhere,
        "faultsInjected": [
            {"at": i.at, "call": i.call, "error": i.error, "mode": i.mode} for i in cloud.api.injected
        ],
        "awsCalls": runner.rehearsal.aws_calls,
        "stops": runner.rehearsal.stops,
        "cliRuns": [run.as_json() for run in runner.rehearsal.cli_runs],
        "weightChanges": [
            {"at": c.at, "endpoint": c.endpoint, "weights": c.weights, "packages": c.packages}
            for c in cloud.sagemaker_sim.weight_log
        ],
        "invocations": describe_invocations(cloud),
        "alarms": describe_alarms(cloud),
        "endpointConfigs": sorted(
            name
            for account in cloud.all_accounts
            for name in _names(
                cloud, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", account
            )
        ),
        "endpointConfigDetails": _config_details(cloud),
        "models": sorted(
            name
            for account in cloud.all_accounts
            for name in _names(cloud, "list_models", "Models", "ModelName", account)
        ),
        "configResources": _config_resources(cloud),
        "alarmStateChanges": [
            {"at": c.at, "alarm": c.alarm, "from": c.old, "to": c.new, "reason": c.reason}
            for c in cloud.alarms.transitions
        ],
        "monitoringExecutions": [
            {
                "schedule": e.schedule,
                "endpoint": e.endpoint,
                "scheduledAt": e.scheduled_at,
                "window": list(e.window),
                "status": e.status,
                "failureReason": e.failure_reason,
                "endedAt": e.ended_at,
                "packages": e.packages,
            }
            for e in cloud.monitor.executions
        ],
    }
    if cloud.ground_truth is not None:
        report["groundTruth"] = {
            "uri": cloud.ground_truth.config.uri,
            "objects": len(cloud.ground_truth.objects),
            "labels": sum(o.records for o in cloud.ground_truth.objects),
            "lost": cloud.ground_truth.lost,
        }
    if cloud.drift.log:
        report["drifts"] = [{"at": t, "modelPackage": p, "change": text} for t, p, text in cloud.drift.log]
    report["judgedSeries"] = judged_series(cloud, report["executions"])  # what --plot draws
    checks = []
    for expect in s.expect:
        ok, detail = check(expect, report)
        checks.append({"expect": expect.model_dump(exclude_none=True), "ok": ok, "detail": detail})
    report["checks"] = checks
    report["checked"] = len(checks)
    if not checks:
        report["warning"] = NOTHING_CHECKED
    report["ok"] = all(c["ok"] for c in checks)
    ordered = {"ok": report.pop("ok"), "checked": report.pop("checked")}
    if "warning" in report:
        ordered["warning"] = report.pop("warning")
    ordered.update(report)
    return ordered
