"""SageMaker in the local cloud: where SageMaker accepts, delays or refuses a call.

``endpoints`` holds the endpoint lifecycle in virtual time (creates, updates, weights, deletes,
guardrails) and SageMaker's refusals of models and configs; ``invocations`` serves
``InvokeEndpoint``; ``monitor`` runs Model Monitor schedules and their executions; ``transforms``
runs batch transform jobs and their S3 input and output. Nothing is re-exported here, so that
``localcloud.services.cloudwatch`` can import ``endpoints`` without an import cycle.
"""
