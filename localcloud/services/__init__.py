"""AWS services as the local cloud serves them on top of moto, in virtual time.

Each module or package is the one place where that service's timing and refusals live:
``sagemaker`` (endpoints, invocations, Model Monitor, batch transform), ``cloudwatch`` (metrics and
alarms), ``autoscaling`` (Application Auto Scaling of endpoint variants), ``events``
(EventBridge delivery to the rules of ``template.yaml``), ``scheduler`` (EventBridge Scheduler),
``cloudformation`` (the rehearsed stack's ``DescribeStacks``) and ``stepfunctions`` (execution
histories in pages). ``localcloud.engine.cloud`` wires them together; nothing is re-exported here.
"""
