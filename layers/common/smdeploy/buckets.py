"""Which S3 locations the model execution role may read and write (pure: no AWS calls here).

SageMaker reads a model's artifacts and writes its captured data and asynchronous results with
the execution role passed to ``CreateModel``, not with the caller's credentials: "SageMaker needs
permission to read the model artifacts in S3 (s3:GetObject)" and, for data capture and async
inference, to write where the endpoint config points (SageMaker Developer Guide, "How to use
SageMaker AI execution roles"; "Capture data from real-time endpoint"; "Asynchronous inference
prerequisites"). A location outside the role's buckets deploys, then fails on AWS: the endpoint
never becomes ``InService`` or silently captures nothing. The plan refuses such a location first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from smdeploy.errors import InvalidRequest
from smdeploy.models import GroupConfig

BUCKET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
# Virtual-hosted and path-style HTTPS addresses of S3 objects
# (Amazon S3 User Guide, "Methods for accessing a bucket").
_VIRTUAL_HOSTED_RE = re.compile(
    r"^https://(?P<bucket>[^/]+)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com(?:\.cn)?/"
)
_PATH_STYLE_RE = re.compile(r"^https://s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com(?:\.cn)?/(?P<bucket>[^/]+)/")


@dataclass(frozen=True)
class RoleBuckets:
    """The buckets the model execution role may read artifacts from and write to (template parameters)."""

    read: tuple[str, ...]
    write: tuple[str, ...]
    # DataCaptureBucket, the one write bucket the monitoring functions may also read (None: unknown)
    capture: str | None = None


def bucket_of(uri: str) -> str | None:
    """The bucket of an ``s3://`` URI or an S3 HTTPS address, or ``None`` when it is neither."""
    if uri.startswith("s3://"):
        bucket = uri.removeprefix("s3://").partition("/")[0]
        return bucket or None
    match = _VIRTUAL_HOSTED_RE.match(uri) or _PATH_STYLE_RE.match(uri)
    return match["bucket"] if match else None


def package_artifacts(package: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, location) of every model artifact of a DescribeModelPackage answer's containers."""
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or []
    for index, container in enumerate(containers):
        field = f"InferenceSpecification.Containers[{index}]"
        if container.get("ModelDataUrl"):
            yield f"{field}.ModelDataUrl", str(container["ModelDataUrl"])
        source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
        if source.get("S3Uri"):
            yield f"{field}.ModelDataSource.S3DataSource.S3Uri", str(source["S3Uri"])


def _listed(buckets: Iterable[str]) -> str:
    return ", ".join(sorted(set(buckets))) or "none"


def check_artifacts(package: dict[str, Any], buckets: RoleBuckets, *, label: str) -> None:
    """:class:`InvalidRequest` naming the first artifact of ``package`` the model role cannot read."""
    for field, location in package_artifacts(package):
        bucket = bucket_of(location)
        if bucket is None:
            raise InvalidRequest(field, f"package {label}: cannot tell the S3 bucket of {location!r}")
        if bucket not in buckets.read:
            raise InvalidRequest(
                field,
                f"package {label} keeps its artifact at {location}, in bucket {bucket!r}; the model "
                f"execution role reads artifacts only from {_listed(buckets.read)}. Add {bucket!r} to "
                "the stack's ModelArtifactBuckets parameter or register the model from one of those",
            )


def check_location(
    field: str,
    uri: str | None,
    allowed: Iterable[str],
    *,
    parameter: str,
    source: str = "",
    access: str = "write to",
) -> None:
    """:class:`InvalidRequest` naming ``field`` when ``uri`` lies outside the ``allowed`` buckets."""
    if not uri:
        return
    allowed = tuple(allowed)
    bucket = bucket_of(uri)
    if bucket not in allowed:
        where = f" (in {source})" if source else ""
        raise InvalidRequest(
            field,
            f"{uri}{where} is in bucket {bucket!r}; the model execution role may {access} only "
            f"{_listed(allowed)} (the stack's {parameter} parameter)",
        )


def check_group_locations(config: GroupConfig, buckets: RoleBuckets, *, source: str) -> None:
    """:class:`InvalidRequest` naming the first S3 location of a group config the model role cannot use.

    The role reads what a multi-model endpoint loads and writes captured data and async results.
    """
    writable = "DataCaptureBucket, AsyncResultsBucket or BatchDataBucket"
    if config.multiModel is not None:
        check_location(
            "multiModel.artifactPrefix",
            config.multiModel.artifactPrefix,
            buckets.read,
            parameter="ModelArtifactBuckets",
            source=source,
            access="read",
        )
    if config.dataCapture is not None:
        check_location(
            "dataCapture.destination",
            config.dataCapture.destination,
            buckets.write,
            parameter=writable,
            source=source,
        )
    if config.asyncInference is not None:
        for field in ("outputPath", "failurePath"):
            check_location(
                f"asyncInference.{field}",
                getattr(config.asyncInference, field),
                buckets.write,
                parameter=writable,
                source=source,
            )
