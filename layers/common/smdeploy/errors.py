"""Named errors: the contract between the handlers and the state machines.

Step Functions sees the class name of an exception raised by a Lambda handler as the state's
``Error``. ASL ``Retry`` blocks list the names of :class:`TransientError` subclasses and ``Catch``
blocks the names of :class:`TerminalError` subclasses; ``tests/template/test_error_contract.py``
keeps both lists and this module in step.
"""

from __future__ import annotations


class SmdeployError(Exception):
    """Base of every error the control plane raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientError(SmdeployError):
    """Retrying the same call later may succeed (throttling, service trouble, races)."""


class TerminalError(SmdeployError):
    """Retrying will not help; the state machine records the failure and stops."""


# --- transient -------------------------------------------------------------------------------
class AwsThrottled(TransientError):
    """An AWS API answered with throttling."""


class AwsServiceUnavailable(TransientError):
    """An AWS API answered with an internal or service-unavailable error."""


class EndpointBusy(TransientError):
    """The endpoint is being created or updated and cannot take another change yet."""


# --- terminal --------------------------------------------------------------------------------
class InvalidRequest(TerminalError):
    """The input, the configuration or the model package does not allow a deployment.

    The message always names the offending field. Nothing has been created or changed.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class EndpointDeploymentFailed(TerminalError):
    """SageMaker reported the endpoint ``Failed``."""


class EndpointDeployTimeout(TerminalError):
    """The endpoint did not reach ``InService`` before the plan's deadline."""


class AwsRequestRejected(TerminalError):
    """An AWS API rejected a request for a reason retrying will not fix."""


class EndpointUpdateFailed(TerminalError):
    """SageMaker could not apply an endpoint update and went back to the previous config."""


class LockWaitTimeout(TerminalError):
    """Another deployment held the endpoint's lock for longer than this one may wait."""


class NoApprovedModel(TerminalError):
    """A batch transform found no Approved model package in its group."""


class TransformJobFailed(TerminalError):
    """SageMaker reported the transform job ``Failed`` (or ``Stopped``)."""


class SmokeTestFailed(TerminalError):
    """The smoke invocation of a model on a multi-model endpoint answered an error."""


class DeploymentRolledBack(TerminalError):
    """The candidate was judged unhealthy (or the rollout failed) and the baseline was restored."""


class NoRestoreTarget(TerminalError):
    """A withdrawn version serves its endpoint and no other version of its group can replace it.

    No version is Approved, other than the withdrawn one, without a rollback (or failure) on the
    endpoint since its last approval. Nothing was changed: the withdrawn version keeps serving
    until a version is approved (or an operator deploys one by hand).
    """


class GateRejected(TerminalError):
    """An operator rejected the version at a stage's manual gate (``smdeploy reject``): it goes no
    further. The error a gate's task token is failed with."""


class GateSuperseded(TerminalError):
    """A newer version reached the same gate: the older one's wait ends, it goes no further."""


TRANSIENT_ERRORS: tuple[type[TransientError], ...] = (AwsThrottled, AwsServiceUnavailable, EndpointBusy)
TERMINAL_ERRORS: tuple[type[TerminalError], ...] = (
    InvalidRequest,
    EndpointDeploymentFailed,
    EndpointDeployTimeout,
    AwsRequestRejected,
    EndpointUpdateFailed,
    DeploymentRolledBack,
    NoApprovedModel,
    TransformJobFailed,
    LockWaitTimeout,
    SmokeTestFailed,
    NoRestoreTarget,
    GateRejected,
    GateSuperseded,
)


def all_error_names() -> set[str]:
    """Every name a state machine may retry or catch."""
    return {cls.__name__ for cls in (*TRANSIENT_ERRORS, *TERMINAL_ERRORS)}
