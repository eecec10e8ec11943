"""Who is calling now, whether IAM lets them, and the record of every denial.

The local cloud knows its callers: a function's handler runs inside ``LambdaRuntime.invoke``, a
state machine's interpreter on its execution's thread, a rule or schedule when EventBridge starts
a target. Each pushes its principal for the duration (per thread: executions interleave on threads
of their own). Calls made with no principal are the scenario acting as a person with
administrator rights, or the local cloud itself, and are not checked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from localcloud.engine.template import Template
from localcloud.iam import catalog
from localcloud.iam.policy import Context, Decision, Request, evaluate, resource_policy_decides
from localcloud.iam.principals import Principal, Principals
from localcloud.iam.requests import SCALING_SERVICE_LINKED_ROLE, Call, requests_for

# The error code each service answers an implicit or explicit deny with.
DENIED_CODES = {
    "sns": "AuthorizationError",
    "s3": "AccessDenied",
    "iam": "AccessDenied",
    "sts": "AccessDenied",
}
DEFAULT_DENIED_CODE = "AccessDeniedException"


@dataclass(frozen=True)
class AccessDenial:
    at: float
    principal: str  # logical id of the function, state machine, rule, schedule or role
    kind: str
    role: str
    call: str  # the API call that was refused (service:Operation)
    action: str  # the action that was not allowed (the call's own or one it implies)
    resource: str
    why: str

    @property
    def code(self) -> str:
        return DENIED_CODES.get(self.call.split(":", 1)[0], DEFAULT_DENIED_CODE)

    def message(self, session_arn: str) -> str:
        # The shape of AWS's message: "User: <arn> is not authorized to perform: <action> on
        # resource: <arn> because no identity-based policy allows the <action> action".
        return (
            f"User: {session_arn} is not authorized to perform: {self.action} on resource: "
            f"{self.resource} because {self.why}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "principal": self.principal,
            "kind": self.kind,
            "role": self.role,
            "call": self.call,
            "action": self.action,
            "resource": self.resource,
            "why": self.why,
        }


class IamEnforcer:
    def __init__(
        self,
        template: Template,
        *,
        now: Callable[[], float],
        tags_of: Callable[[str], dict[str, str]],
        enabled: bool = True,
    ) -> None:
        self.principals = Principals.of(template)
        self.region, self.account = template.region, template.account
        self.enabled = enabled
        self.audit_only = False  # record denials but let the calls through (to list them all at once)
        self.denials: list[AccessDenial] = []
        self.checked = 0  # calls authorized (principal known), allowed or not
        self._now = now
        self._tags_of = tags_of
        self._local = threading.local()
        self._decisions: dict[tuple[Any, ...], Decision] = {}
        self._service_linked_roles: set[str] = set()
        # other accounts of the rehearsal, by id: the roles their templates create
        self.accounts: dict[str, Principals] = {}
        # sessions of those roles (AssumeRole): access key id -> (role, virtual time it expires)
        self.sessions: dict[str, tuple[Principal, float]] = {}

    # --- other accounts --------------------------------------------------------------------------
    def add_account(self, template: Template) -> None:
        """Another account's roles: what ``template`` (deployed there) creates."""
        self.accounts[template.account] = Principals.of(template)

    def role(self, role_arn: str) -> Principal | None:
        """A role of any rehearsed account, by ARN."""
        for principals in (self.principals, *self.accounts.values()):
            found = principals.role(role_arn)
            if found is not None:
                return found
        return None

    def assumed(self, access_key: str, role: Principal, expires_at: float) -> None:
        """Calls signed with ``access_key`` are made by ``role`` until ``expires_at``."""
        self.sessions[access_key] = (role, expires_at)

    def session(self, access_key: str | None) -> tuple[Principal, float] | None:
        return self.sessions.get(access_key) if access_key else None

    # --- who is calling --------------------------------------------------------------------------
    def _stack(self) -> list[Principal]:
        stack: list[Principal] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    @contextmanager
    def acting_as(self, kind: str, logical_id: str) -> Iterator[Principal | None]:
        """Calls made in this block are made by that principal. A rule or schedule without a role of
        its own (one that invokes a function: Lambda's resource policy lets EventBridge) is not a
        caller here; its target runs as itself."""
        principal = self.principals.get(kind, logical_id)
        if principal is None and kind in {"function", "stateMachine"}:
            # Every function and state machine runs with a role; one the template's translation gave
            # none (or a role from elsewhere) is allowed nothing, never left unchecked.
            principal = Principal(logical_id, kind, "(no role in template.yaml)", "", ())
        stack = self._stack()
        if principal is not None:
            stack.append(principal)
        try:
            yield principal
        finally:
            if principal is not None:
                stack.pop()

    @contextmanager
    def as_nobody(self) -> Iterator[None]:
        """Calls in this block are made by a person or by AWS itself, not by a template principal."""
        saved = self._local.__dict__.get("stack")
        self._local.stack = []
        try:
            yield
        finally:
            self._local.stack = saved if saved is not None else []

    def snapshot(self) -> list[Principal]:
        """This thread's callers, for a thread it starts to carry on (``adopt``)."""
        return list(self._stack())

    def adopt(self, principals: list[Principal]) -> None:
        self._local.stack = list(principals)

    def current(self) -> Principal | None:
        stack = self._stack()
        return stack[-1] if stack else None

    # --- the check -------------------------------------------------------------------------------
    def decide(self, principal: Principal, request: Request) -> Decision:
        key = (
            principal.role_arn,
            request.action,
            request.resource,
            tuple(sorted((k, tuple(v)) for k, v in request.context.items())),
        )
        decision = self._decisions.get(key)
        if decision is None:
            decision = evaluate(list(principal.statements), request)
            self._decisions[key] = decision
        return decision

    def authorize(
        self, call_name: str, params: dict[str, Any], caller: Principal | None = None
    ) -> AccessDenial | None:
        """Check a call of ``caller`` (default: the current principal); the first denial, recorded,
        or ``None``. A role of another account calls in that account."""
        principal = caller or self.current()
        if principal is None or not self.enabled:
            return None
        self.checked += 1
        call = Call(call_name, params, self.region, principal.account or self.account)
        try:
            requests = requests_for(call, self._tags_of)
        except catalog.UnknownAction as exc:
            return self._deny(principal, call_name, call_name, "*", str(exc))
        if call_name == "application-autoscaling:RegisterScalableTarget":
            requests.extend(self._service_linked_role(params))
        for request in requests:
            decision = self.decide(principal, request)
            if not decision.allowed:
                return self._deny(principal, call_name, request.action, request.resource, decision.reason)
        if call_name == "application-autoscaling:RegisterScalableTarget":
            self._service_linked_roles.add("sagemaker.application-autoscaling.amazonaws.com")
        if call_name == "sts:AssumeRole":
            return self._trust(principal, str(params.get("RoleArn", "")))
        return None

    def _trust(self, caller: Principal, role_arn: str) -> AccessDenial | None:
        """AssumeRole also needs the role's trust policy to name the caller ("How IAM roles differ
        from resource-based policies", IAM User Guide): a role of no rehearsed account names none."""
        target = self.role(role_arn)
        if target is None:
            why = "no rehearsed account has that role (its trust policy is unknown)"
        elif target.trusts(caller):
            return None
        else:
            why = f"the role's trust policy does not name {caller.role_arn} or its account"
        return self._deny(caller, "sts:AssumeRole", "sts:AssumeRole", role_arn, why)

    def authorize_resource(
        self, call_name: str, action: str, resource: str, context: Context | None = None
    ) -> AccessDenial | None:
        """Check one action on one resource for the current principal (S3, whose requests moto
        resolves to an action and an object or bucket itself)."""
        principal = self.current()
        if principal is None or not self.enabled:
            return None
        self.checked += 1
        decision = self.decide(principal, Request(action, resource, context or {}))
        if decision.allowed:
            return None
        return self._deny(principal, call_name, action, resource, decision.reason)

    def _service_linked_role(self, params: dict[str, Any]) -> list[Request]:
        """The first registration of a SageMaker variant creates Application Auto Scaling's
        service-linked role as the caller ("Service-linked roles for Application Auto Scaling")."""
        service = "sagemaker.application-autoscaling.amazonaws.com"
        if params.get("ServiceNamespace") != "sagemaker" or service in self._service_linked_roles:
            return []
        return [
            Request(
                "iam:CreateServiceLinkedRole",
                SCALING_SERVICE_LINKED_ROLE.format(account=self.account),
                {"iam:awsservicename": [service]},
            )
        ]

    def authorize_role(
        self, role_arn: str, call_name: str, action: str, resource: str, context: Context | None = None
    ) -> AccessDenial | None:
        """A service acting with a role of the template (SageMaker with the model's execution role
        reading the artifact or writing capture data): ``None`` when allowed."""
        if not self.enabled:
            return None
        principal = self.role(role_arn)
        if principal is None:
            # A role from outside the template (a model made by hand with the account's own role):
            # its policies are unknown here, so nothing is checked for it.
            return None
        decision = self.decide(principal, Request(action, resource, context or {}))
        if decision.allowed:
            return None
        return self._deny(principal, call_name, action, resource, decision.reason)

    def authorize_by_resource_policy(
        self,
        role_arn: str,
        call_name: str,
        action: str,
        resource: str,
        document: dict[str, Any],
        context: Context | None = None,
    ) -> bool:
        """A role of one account on a resource of another: the resource's policy (a bucket policy)
        must allow it too. A role from outside the rehearsed accounts is not checked."""
        if not self.enabled:
            return True
        principal = self.role(role_arn)
        if principal is None:
            return True
        decision = resource_policy_decides(document, role_arn, Request(action, resource, context or {}))
        if decision.allowed:
            return True
        self._deny(principal, call_name, action, resource, decision.reason)
        return False

    def authorize_assume(self, role_arn: str, service: str) -> AccessDenial | None:
        """A service assuming a role of the template (EventBridge Scheduler assuming a schedule's
        ``Target.RoleArn``): the role's trust policy must name the service. ``None`` when it may,
        or when the role is not the template's (its trust policy is unknown here)."""
        if not self.enabled:
            return None
        principal = self.role(role_arn)
        if principal is None or service in principal.trusted_services:
            return None
        why = f"the role's trust policy does not allow {service} to assume it"
        return self._deny(principal, "sts:AssumeRole", "sts:AssumeRole", role_arn, why)

    def _deny(
        self, principal: Principal, call_name: str, action: str, resource: str, why: str
    ) -> AccessDenial:
        denial = AccessDenial(
            self._now(), principal.name, principal.kind, principal.role_name, call_name, action, resource, why
        )
        self.denials.append(denial)
        return denial
