"""DataSync reaches its locations with the roles the locations name.

- An S3 location: DataSync assumes `S3Config.BucketAccessRoleArn` and needs, on the bucket,
  `s3:GetBucketLocation`, `s3:ListBucket`, `s3:ListBucketMultipartUploads`, and on the
  objects under the prefix `s3:GetObject` (+ `s3:GetObjectTagging`) as a source,
  `s3:PutObject` (+ `s3:PutObjectTagging`) and `s3:DeleteObject` as a destination
  ("Providing DataSync access to S3 buckets",
  https://docs.aws.amazon.com/datasync/latest/userguide/create-s3-location.html#create-s3-location-access),
  with KMS through S3 for an SSE-KMS bucket; a manifest is read with the manifest's role
  (`s3:GetObject`, `s3:GetObjectVersion` with a version;
  https://docs.aws.amazon.com/datasync/latest/userguide/transferring-with-manifest.html).
- An EFS location with `FileSystemAccessRoleArn`: DataSync mounts with IAM authorization:
  `elasticfilesystem:ClientMount`, `ClientWrite` as a destination, `ClientRootAccess`,
  via a mount target ("Providing DataSync access to Amazon EFS file systems",
  https://docs.aws.amazon.com/datasync/latest/userguide/create-efs-location.html#create-efs-location-iam).

:func:`check_execution` raises `enforce.AccessDenied` for the first call a role does not allow.
"""

from __future__ import annotations

from typing import Any

from studio_sandbox import iam
from studio_sandbox.iam import principals, side_effects
from studio_sandbox.server import state

_SESSION = "AwsDataSync"


def _s3(location: Any, writing: bool) -> None:
    role = str(location.s3_config.get("BucketAccessRoleArn", ""))
    bucket_arn = f"arn:aws:s3:::{location.bucket}"
    objects = f"{bucket_arn}/{location.prefix}*"
    for action in ("s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"):
        iam.authorize_role(role, _SESSION, action, [bucket_arn])
    actions = (
        ("s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject")
        if writing
        else ("s3:GetObject", "s3:GetObjectTagging")
    )
    for action in actions:
        iam.authorize_role(role, _SESSION, action, [objects])
    _bucket_kms(role, str(location.bucket), writing)


def _bucket_kms(role: str, bucket: str, writing: bool) -> None:
    from studio_sandbox.iam import enforce

    principals.credentials_for(role, _SESSION)
    principal = principals.Principal(role, _SESSION, role.split(":")[4])
    side_effects.check_s3_object(enforce.authorize, principal, bucket, writing, state.REGION)


def _efs(location: Any, writing: bool) -> None:
    role = str(location.file_system_access_role_arn or "")
    if not role:
        return
    context = {"elasticfilesystem:accessedviamounttarget": ["true"]}
    if location.access_point_arn:
        context["elasticfilesystem:accesspointarn"] = [str(location.access_point_arn)]
    actions = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess"]
    if writing:
        actions.append("elasticfilesystem:ClientWrite")
    for action in actions:
        iam.authorize_role(role, _SESSION, action, [location.efs_filesystem_arn], context)


def _manifest(config: dict[str, Any]) -> None:
    source = config.get("Source", {}).get("S3", {})
    role = str(source.get("BucketAccessRoleArn", ""))
    bucket_arn = str(source.get("S3BucketArn", ""))
    obj = f"{bucket_arn}/{source.get('ManifestObjectPath', '')}"
    action = "s3:GetObjectVersion" if source.get("ManifestObjectVersionId") else "s3:GetObject"
    iam.authorize_role(role, _SESSION, action, [obj])
    _bucket_kms(role, bucket_arn.rsplit(":", 1)[-1], False)


def check_execution(source: Any, destination: Any, manifest: dict[str, Any] | None) -> None:
    """Every role a task execution uses allows what DataSync does with it."""
    if not iam.enforcing():
        return
    for location, writing in ((source, False), (destination, True)):
        if getattr(location, "typ", "") == "EFS":
            _efs(location, writing)
        elif hasattr(location, "s3_config"):
            _s3(location, writing)
    if manifest:
        _manifest(manifest)
