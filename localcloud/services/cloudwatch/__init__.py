"""CloudWatch in the local cloud: metrics and alarms, in virtual time.

``metrics`` simulates the per-minute traffic of each endpoint variant and publishes the
AWS/SageMaker metrics it produces (with CloudWatch's delay); ``alarms`` evaluates metric alarms as
CloudWatch does (periods, missing data, percentiles, metric math) and emits their state changes.
Nothing is re-exported here.
"""
