"""The operator's command line for smdeploy on AWS: ``smdeploy loadtest`` and ``smdeploy recommend``.

It talks to AWS through boto3 the usual way (``--region``/``--profile``, or the environment) and
imports nothing of the local cloud: ``localcloud.cli`` dispatches here, and rehearses the same
commands against a scenario (``--scenario``) by handing this package an invoker and a clock of its
own. ``python -m smdeploy_cli`` runs it without the local cloud installed.
"""
