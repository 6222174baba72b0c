"""The job's secrets (tracker key, Hugging Face token), read at start from the one Secrets Manager
secret the platform made for this job (MODELHUB_SECRETS_ARN; the execution role may
secretsmanager:GetSecretValue on it). SageMaker's job Environment never carries them.

The values go only into the environment of the tool subprocesses (trainer, merge, Ray); they are
never printed and never put into the entry point's own os.environ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

ENV_SECRETS_ARN = "MODELHUB_SECRETS_ARN"
VARIABLES = ("WANDB_API_KEY", "SWANLAB_API_KEY", "HF_TOKEN")


class Unreadable(Exception):
    """The secret could not be read; the message names why, never a value."""


def region_of(arn: str) -> str | None:
    """arn:aws:secretsmanager:<region>:<account>:secret:<name> -> region (None for a plain name)."""
    parts = arn.split(":")
    return (parts[3] or None) if len(parts) >= 7 and parts[0] == "arn" else None


def fetch(secret_id: str, *, region: str | None = None, client=None) -> dict[str, str]:
    """{variable: value} of the secret, restricted to VARIABLES."""
    from botocore.exceptions import BotoCoreError, ClientError

    if client is None:
        import boto3

        client = boto3.client("secretsmanager", region_name=region_of(secret_id) or region)
    try:
        text = client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    except ClientError as exc:
        raise Unreadable(str(exc.response.get("Error", {}).get("Code") or "ClientError")) from None
    except BotoCoreError as exc:
        raise Unreadable(type(exc).__name__) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise Unreadable("its value is not a JSON object") from None
    if not isinstance(data, dict):
        raise Unreadable("its value is not a JSON object")
    return {name: str(data[name]) for name in VARIABLES if data.get(name)}


def load(env: Mapping[str, str], *, client=None) -> tuple[dict[str, str], str | None]:
    """(values, problem): what the job's secret holds, over any of VARIABLES set directly (a local
    `docker run -e`). `problem` says why the secret could not be read (None when it was, or when the
    job has none)."""
    values = {name: env[name] for name in VARIABLES if env.get(name)}
    secret_id = env.get(ENV_SECRETS_ARN)
    if not secret_id:
        return values, None
    try:
        values.update(fetch(secret_id, region=env.get("MODELHUB_REGION") or env.get("AWS_REGION"), client=client))
    except Unreadable as exc:
        return values, f"could not read the job's secret {secret_id} ({exc})"
    return values, None
