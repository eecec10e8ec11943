"""SageMaker adapter: registry look-ups, models, endpoint configs and endpoints."""

from __future__ import annotations

from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, error_code, error_message, home_client, translate


def _not_found(exc: Exception) -> bool:
    message = error_message(exc)
    return error_code(exc) in {"ValidationException", "ResourceNotFound"} and (
        "Could not find" in message or "not found" in message or "does not exist" in message
    )


def _already_exists(exc: Exception) -> bool:
    return error_code(exc) == "ValidationException" and "already existing" in error_message(exc)


class SageMakerGateway:
    """Thin wrapper over the SageMaker API that speaks the project's errors."""

    def __init__(self, sagemaker: Any | None = None, *, registry: Any | None = None) -> None:
        self._given = sagemaker
        self._given_registry = registry if registry is not None else sagemaker

    @property
    def _sm(self) -> Any:
        """The endpoint's SageMaker: a stage's account inside ``aws.acting_as``, else the stack's."""
        return self._given if self._given is not None else client("sagemaker")

    @property
    def _registry(self) -> Any:
        """The model registry's SageMaker: always the stack's account (packages of other accounts
        are read by ARN from here, as ``allowedAccounts`` permits)."""
        return self._given_registry if self._given_registry is not None else home_client("sagemaker")

    # --- registry ------------------------------------------------------------------------
    def find_model_package(self, arn: str) -> dict[str, Any] | None:
        try:
            return dict(self._registry.describe_model_package(ModelPackageName=arn))
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeModelPackage") from exc

    # --- endpoints -----------------------------------------------------------------------
    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._sm.describe_endpoint(EndpointName=name))
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeEndpoint") from exc

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        try:
            return dict(self._sm.describe_endpoint(EndpointName=name))
        except AWS_ERRORS as exc:
            raise translate(exc, "DescribeEndpoint") from exc

    def create_model(
        self,
        *,
        name: str,
        package_arn: str,
        role_arn: str,
        tags: list[dict[str, str]],
        containers: list[dict[str, Any]] | None = None,
        execution_mode: str | None = None,
    ) -> bool:
        """Create the model; ``False`` when a model of that name exists already (idempotent).

        By default its one container is the model package; ``containers`` (with an
        ``InferenceExecutionConfig`` mode when there are several) replace it.
        """
        extra: dict[str, Any] = (
            {"InferenceExecutionConfig": {"Mode": execution_mode}} if execution_mode else {}
        )
        try:
            self._sm.create_model(
                ModelName=name,
                ExecutionRoleArn=role_arn,
                Containers=containers or [{"ModelPackageName": package_arn}],
                Tags=tags,
                **extra,
            )
            return True
        except AWS_ERRORS as exc:
            if _already_exists(exc):
                return False
            raise translate(exc, "CreateModel") from exc

    def find_model(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._sm.describe_model(ModelName=name))
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeModel") from exc

    def create_endpoint_config(
        self, *, name: str, variants: list[dict[str, Any]], tags: list[dict[str, str]], extra: dict[str, Any]
    ) -> bool:
        """Create the endpoint config; ``False`` when it exists already (idempotent)."""
        if self.find_endpoint_config(name) is not None:
            return False
        try:
            self._sm.create_endpoint_config(
                EndpointConfigName=name, ProductionVariants=variants, Tags=tags, **extra
            )
            return True
        except AWS_ERRORS as exc:
            if _already_exists(exc):
                return False
            raise translate(exc, "CreateEndpointConfig") from exc

    def find_endpoint_config(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._sm.describe_endpoint_config(EndpointConfigName=name))
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeEndpointConfig") from exc

    def create_endpoint(self, *, name: str, config_name: str, tags: list[dict[str, str]]) -> None:
        try:
            self._sm.create_endpoint(EndpointName=name, EndpointConfigName=config_name, Tags=tags)
        except AWS_ERRORS as exc:
            raise translate(exc, "CreateEndpoint") from exc

    def delete_endpoint(self, name: str) -> None:
        try:
            self._sm.delete_endpoint(EndpointName=name)
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return
            raise translate(exc, "DeleteEndpoint") from exc

    # --- updates ---------------------------------------------------------------------------
    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        try:
            return dict(self._sm.describe_endpoint_config(EndpointConfigName=name))
        except AWS_ERRORS as exc:
            raise translate(exc, "DescribeEndpointConfig") from exc

    def update_endpoint(
        self, *, name: str, config_name: str, deployment_config: dict[str, Any] | None = None
    ) -> None:
        extra = {"DeploymentConfig": deployment_config} if deployment_config else {}
        try:
            self._sm.update_endpoint(EndpointName=name, EndpointConfigName=config_name, **extra)
        except AWS_ERRORS as exc:
            raise translate(exc, "UpdateEndpoint") from exc

    def update_weights(self, *, name: str, weights: dict[str, float]) -> None:
        desired = [{"VariantName": variant, "DesiredWeight": weight} for variant, weight in weights.items()]
        try:
            self._sm.update_endpoint_weights_and_capacities(
                EndpointName=name, DesiredWeightsAndCapacities=desired
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "UpdateEndpointWeightsAndCapacities") from exc

    def tags_of(self, arn: str) -> list[dict[str, str]]:
        try:
            return list(self._sm.list_tags(ResourceArn=arn).get("Tags", []))
        except AWS_ERRORS as exc:
            raise translate(exc, "ListTags") from exc

    def endpoint_configs_named(self, prefix: str) -> list[dict[str, Any]]:
        """Endpoint configs whose name starts with ``prefix``, newest first."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"NameContains": prefix, "SortBy": "CreationTime", "SortOrder": "Descending"}
        try:
            while True:
                page = self._sm.list_endpoint_configs(**kwargs)
                found += [
                    c for c in page.get("EndpointConfigs", []) if c["EndpointConfigName"].startswith(prefix)
                ]
                if not page.get("NextToken"):
                    return found
                kwargs["NextToken"] = page["NextToken"]
        except AWS_ERRORS as exc:
            raise translate(exc, "ListEndpointConfigs") from exc

    def delete_endpoint_config(self, name: str) -> bool:
        try:
            self._sm.delete_endpoint_config(EndpointConfigName=name)
            return True
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return False
            raise translate(exc, "DeleteEndpointConfig") from exc

    def delete_model(self, name: str) -> bool:
        try:
            self._sm.delete_model(ModelName=name)
            return True
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return False
            raise translate(exc, "DeleteModel") from exc

    def latest_monitoring_execution(self, endpoint: str, after: Any) -> dict[str, Any] | None:
        """The latest Model Monitor execution of ``endpoint`` scheduled after ``after``, if any."""
        try:
            page = self._sm.list_monitoring_executions(
                EndpointName=endpoint,
                ScheduledTimeAfter=after,
                SortBy="ScheduledTime",
                SortOrder="Descending",
                MaxResults=10,
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "ListMonitoringExecutions") from exc
        finished = [
            e
            for e in page.get("MonitoringExecutionSummaries", [])
            if e.get("MonitoringExecutionStatus")
            in {"Completed", "CompletedWithViolations", "Failed", "Stopped"}
        ]
        return dict(finished[0]) if finished else None

    def monitoring_schedules_of(self, endpoint: str) -> list[str]:
        """The names of the Model Monitor schedules on ``endpoint``."""
        found: list[str] = []
        token: str | None = None
        while True:
            try:
                page = self._sm.list_monitoring_schedules(
                    EndpointName=endpoint, MaxResults=100, **({"NextToken": token} if token else {})
                )
            except AWS_ERRORS as exc:
                raise translate(exc, "ListMonitoringSchedules") from exc
            found += [str(s["MonitoringScheduleName"]) for s in page.get("MonitoringScheduleSummaries", [])]
            token = page.get("NextToken")
            if not token:
                return found

    def delete_monitoring_schedule(self, name: str) -> bool:
        try:
            self._sm.delete_monitoring_schedule(MonitoringScheduleName=name)
            return True
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return False
            raise translate(exc, "DeleteMonitoringSchedule") from exc

    def ensure_data_quality_schedule(
        self,
        *,
        name: str,
        endpoint: str,
        statistics: str,
        constraints: str | None,
        output: str,
        role_arn: str,
        image_uri: str,
        tags: dict[str, str],
    ) -> bool:
        """Create the hourly DataQuality monitoring schedule ``name`` on ``endpoint`` with these
        baselines, unless it exists (its name carries the version: same name, same baselines).
        Returns whether it was created."""
        baseline: dict[str, Any] = {"StatisticsResource": {"S3Uri": statistics}}
        if constraints:
            baseline["ConstraintsResource"] = {"S3Uri": constraints}
        definition = {
            "BaselineConfig": baseline,
            "MonitoringInputs": [
                {
                    "EndpointInput": {
                        "EndpointName": endpoint,
                        "LocalPath": "/opt/ml/processing/input/endpoint",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                }
            ],
            "MonitoringOutputConfig": {
                "MonitoringOutputs": [
                    {
                        "S3Output": {
                            "S3Uri": output,
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        }
                    }
                ]
            },
            "MonitoringResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
            },
            "MonitoringAppSpecification": {"ImageUri": image_uri},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "RoleArn": role_arn,
        }
        try:
            self._sm.create_monitoring_schedule(
                MonitoringScheduleName=name,
                MonitoringScheduleConfig={
                    "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
                    "MonitoringJobDefinition": definition,
                    "MonitoringType": "DataQuality",
                },
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )
            return True
        except AWS_ERRORS as exc:
            if error_code(exc) == "ResourceInUse":
                return False
            raise translate(exc, "CreateMonitoringSchedule") from exc

    def variants_serving(self, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
        """The live variants of a described endpoint with the model and package each serves."""
        config = self.describe_endpoint_config(str(endpoint["EndpointConfigName"]))
        configured = {v["VariantName"]: v for v in config.get("ProductionVariants", [])}
        models = {name: v.get("ModelName") for name, v in configured.items()}
        out = []
        for live in endpoint.get("ProductionVariants", []):
            model_name = models.get(live["VariantName"])
            model = self.find_model(model_name) if model_name else None
            containers = (model or {}).get("Containers") or [(model or {}).get("PrimaryContainer") or {}]
            out.append(
                {
                    "VariantName": live["VariantName"],
                    "ModelName": model_name,
                    "ModelPackageArn": next((c.get("ModelPackageName") for c in containers if c), None),
                    "CurrentWeight": live.get("CurrentWeight", 1.0),
                    "DesiredWeight": live.get("DesiredWeight", live.get("CurrentWeight", 1.0)),
                    "Serverless": "ServerlessConfig" in configured.get(live["VariantName"], {}),
                }
            )
        return out

    # --- registry and batch ---------------------------------------------------------------------
    def package_arn(self, group: str, version: int) -> str | None:
        """The ARN of ``group/version`` (from the group's ARN), or ``None`` when there is no such group."""
        try:
            group_arn = str(
                self._registry.describe_model_package_group(ModelPackageGroupName=group)[
                    "ModelPackageGroupArn"
                ]
            )
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeModelPackageGroup") from exc
        return group_arn.replace(":model-package-group/", ":model-package/") + f"/{version}"

    def latest_approved_package(self, group: str) -> dict[str, Any] | None:
        try:
            page = self._registry.list_model_packages(
                ModelPackageGroupName=group,
                ModelApprovalStatus="Approved",
                SortBy="CreationTime",
                SortOrder="Descending",
                MaxResults=1,
            )
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "ListModelPackages") from exc
        summaries = page.get("ModelPackageSummaryList", [])
        return dict(summaries[0]) if summaries else None

    def find_transform_job(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._sm.describe_transform_job(TransformJobName=name))
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeTransformJob") from exc

    def create_transform_job(self, **request: Any) -> None:
        try:
            self._sm.create_transform_job(**request)
        except AWS_ERRORS as exc:
            raise translate(exc, "CreateTransformJob") from exc

    # --- clean-up ------------------------------------------------------------------------------
    def models_named(self, prefix: str) -> list[dict[str, Any]]:
        """Models whose name starts with ``prefix`` (``ModelName``, ``ModelArn``, ``CreationTime``)."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"NameContains": prefix, "SortBy": "CreationTime", "SortOrder": "Descending"}
        try:
            while True:
                page = self._sm.list_models(**kwargs)
                found += [dict(m) for m in page.get("Models", []) if str(m["ModelName"]).startswith(prefix)]
                if not page.get("NextToken"):
                    return found
                kwargs["NextToken"] = page["NextToken"]
        except AWS_ERRORS as exc:
            raise translate(exc, "ListModels") from exc

    # --- Inference Recommender ------------------------------------------------------------------
    def find_recommendations_job(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._sm.describe_inference_recommendations_job(JobName=name))
        except AWS_ERRORS as exc:
            if _not_found(exc):
                return None
            raise translate(exc, "DescribeInferenceRecommendationsJob") from exc

    def start_recommendations_job(self, request: dict[str, Any]) -> bool:
        """Create the job; ``False`` when a job of that name exists already (a retried start)."""
        if self.find_recommendations_job(str(request["JobName"])) is not None:
            return False
        try:
            self._sm.create_inference_recommendations_job(**request)
            return True
        except AWS_ERRORS as exc:
            if error_code(exc) == "ResourceInUse" or _already_exists(exc):
                return False
            raise translate(exc, "CreateInferenceRecommendationsJob") from exc

    def stop_recommendations_job(self, name: str) -> None:
        try:
            self._sm.stop_inference_recommendations_job(JobName=name)
        except AWS_ERRORS as exc:
            if _not_found(exc) or error_code(exc) == "ValidationException":  # finished meanwhile
                return
            raise translate(exc, "StopInferenceRecommendationsJob") from exc
