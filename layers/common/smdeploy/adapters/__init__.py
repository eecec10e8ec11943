"""Adapters to AWS: the only modules that call boto3; they raise :mod:`smdeploy.errors`."""
