"""A first deployment that failed or gave up removes its endpoint once SageMaker allows it (no AWS)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from smdeploy.adapters.sagemaker import SageMakerGateway
from smdeploy.deploy import remove_failed_endpoint
from tests.unit.test_canary_configs import plan


class FakeSageMaker:
    def __init__(self, status: str | None) -> None:
        self.status = status
        self.deleted: list[str] = []

    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        return None if self.status is None else {"EndpointName": name, "EndpointStatus": self.status}

    def delete_endpoint(self, name: str) -> None:
        self.deleted.append(name)


def _remove(status: str | None) -> tuple[dict[str, Any], list[str]]:
    fake = FakeSageMaker(status)
    result = remove_failed_endpoint(plan(action="CREATE"), sagemaker=cast(SageMakerGateway, fake))
    return result, fake.deleted


def test_a_failed_endpoint_is_deleted() -> None:
    assert _remove("Failed") == ({"deleted": True, "settling": False}, ["churn-prod"])


def test_an_endpoint_still_creating_is_waited_for_not_left_behind() -> None:
    """SageMaker keeps an endpoint whose container never gets healthy ``Creating`` for up to about an
    hour and refuses to delete it meanwhile (aws/amazon-sagemaker-examples#3432): after a deadline the
    state machine looks again every ``pollSeconds`` instead of leaving it without an owner."""
    result, deleted = _remove("Creating")
    assert result == {"deleted": False, "settling": True, "status": "Creating", "nextWaitSeconds": 30}
    assert deleted == []


@pytest.mark.parametrize("status", [None, "InService", "Deleting"])
def test_anything_else_is_left_alone(status: str | None) -> None:
    result, deleted = _remove(status)
    assert (result["deleted"], result["settling"], deleted) == (False, False, [])
