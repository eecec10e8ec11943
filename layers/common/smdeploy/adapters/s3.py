"""S3 adapter: is there anything to score under a prefix; model artifacts of multi-model endpoints."""

from __future__ import annotations

import json
from typing import Any

from smdeploy.adapters.aws import AWS_ERRORS, client, translate


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class S3Gateway:
    def __init__(self, s3: Any | None = None) -> None:
        self._s3 = s3 or client("s3")

    def has_objects(self, uri: str) -> bool:
        bucket, prefix = split_s3_uri(uri)
        try:
            answer = self._s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        except AWS_ERRORS as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") == "NoSuchBucket":
                return False
            raise translate(exc, "ListObjectsV2") from exc
        return int(answer.get("KeyCount", 0)) > 0

    def copy(self, source: str, target: str, metadata: dict[str, str]) -> None:
        """Copy one object (a model artifact) with ``metadata`` on the copy; overwrites."""
        src_bucket, src_key = split_s3_uri(source)
        bucket, key = split_s3_uri(target)
        try:
            self._s3.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": src_bucket, "Key": src_key},
                Metadata=metadata,
                MetadataDirective="REPLACE",
            )
        except AWS_ERRORS as exc:
            raise translate(exc, "CopyObject") from exc

    def delete(self, uri: str) -> None:
        bucket, key = split_s3_uri(uri)
        try:
            self._s3.delete_object(Bucket=bucket, Key=key)
        except AWS_ERRORS as exc:
            raise translate(exc, "DeleteObject") from exc

    def keys_under(self, uri: str, *, limit: int = 1000) -> list[str]:
        """Object keys under a prefix (at most ``limit``, in key order); none when the bucket is missing."""
        bucket, prefix = split_s3_uri(uri)
        keys: list[str] = []
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        try:
            while len(keys) < limit:
                page = self._s3.list_objects_v2(**kwargs)
                keys += [str(item["Key"]) for item in page.get("Contents", [])]
                if not page.get("IsTruncated"):
                    break
                kwargs["ContinuationToken"] = page["NextContinuationToken"]
        except AWS_ERRORS as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") == "NoSuchBucket":
                return []
            raise translate(exc, "ListObjectsV2") from exc
        return keys[:limit]

    def read_json(self, uri: str) -> dict[str, Any]:
        """The JSON object at ``s3://bucket/key`` (a baseline's statistics or constraints)."""
        bucket, key = split_s3_uri(uri)
        return dict(json.loads(self.read_text(bucket, key)))

    def read_text(self, bucket: str, key: str) -> str:
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except AWS_ERRORS as exc:
            raise translate(exc, "GetObject") from exc
        return body.decode("utf-8") if isinstance(body, bytes) else str(body)
