"""One Secrets Manager secret per training job, holding the values its container needs.

SageMaker keeps a training job's `Environment` and returns it to anyone allowed to
DescribeTrainingJob, so secret values never go there: the submit stores them here, under a name
derived from the job's remote name (`TRAINING_SECRETS_PREFIX` + name), and the container gets
only `MODELHUB_SECRETS_ARN`. The execution role reads it with secretsmanager:GetSecretValue
(docker/entrypoint/modelhub_train/job_secrets.py); the platform deletes it once the job is over.
Every operation is idempotent: a retried submit updates the secret it made before, and deleting
a secret that is already gone is a no-op.
"""

import json
import logging
from collections.abc import Mapping

from botocore.exceptions import ClientError
from django.conf import settings

from ..aws import aws_errors, client
from ..errors import RemoteNotFound

logger = logging.getLogger(__name__)

ENV_SECRETS_ARN = "MODELHUB_SECRETS_ARN"


def secret_name(remote_name: str) -> str:
    return f"{settings.TRAINING_SECRETS_PREFIX}{remote_name}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class JobSecrets:
    def __init__(self, secretsmanager=None):
        self._client = secretsmanager

    @property
    def client(self):
        return self._client or client("secretsmanager")

    def put(self, job_id: int, remote_name: str, values: Mapping[str, str], owner: str = "") -> str:
        """Store `values` ({variable: value}) as the job's secret; returns its ARN. Creates it, or
        updates (and, if scheduled for deletion, restores) the one an earlier attempt created. The
        `modelhub:owner` tag lets a group's execution role be limited to its members' secrets
        (a condition on aws:ResourceTag/modelhub:owner)."""
        name = secret_name(remote_name)
        body = json.dumps(dict(values), sort_keys=True)
        create = {
            "Name": name,
            "SecretString": body,
            "Description": f"ModelHub training job {job_id}: secrets its container reads at start",
            "Tags": [{"Key": "modelhub:job-id", "Value": str(job_id)},
                     {"Key": "modelhub:job-name", "Value": remote_name},
                     *([{"Key": "modelhub:owner", "Value": owner}] if owner else [])],
        }
        if settings.TRAINING_SECRETS_KMS_KEY_ID:
            create["KmsKeyId"] = settings.TRAINING_SECRETS_KMS_KEY_ID
        with aws_errors():
            try:
                return self.client.create_secret(**create)["ARN"]
            except ClientError as exc:
                if _code(exc) == "ResourceExistsException":
                    return self._update(name, body)
                if _code(exc) == "InvalidRequestException" and "deletion" in str(exc).lower():
                    self.client.restore_secret(SecretId=name)
                    return self._update(name, body)
                raise

    def _update(self, name: str, body: str) -> str:
        logger.info("Secret %s exists already (a retried submit): updating it", name)
        return self.client.put_secret_value(SecretId=name, SecretString=body)["ARN"]

    def delete(self, remote_name: str) -> bool:
        """Delete the job's secret at once (no recovery window); False when there was none. Looks first:
        a forced DeleteSecret answers success even for a secret that does not exist."""
        name = secret_name(remote_name)
        try:
            with aws_errors():
                if self.client.describe_secret(SecretId=name).get("DeletedDate"):
                    return False
                self.client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except RemoteNotFound:
            return False
        return True
