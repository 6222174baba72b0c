"""Checks shared by the register form and the API."""

import re

import yaml

ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:cluster/[a-z0-9]+$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
S3_URI = re.compile(r"^s3://([^/]+)/?(.*)$")
EKS_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
MAX_KUBECONFIG_BYTES = 64 * 1024


def region_problem(value: str) -> str:
    return "" if REGION.match(value) else "Enter an AWS region such as us-east-1."


def hyperpod_arn_problem(value: str) -> str:
    return "" if not value or ARN.match(value) else (
        "Enter a HyperPod cluster ARN: arn:aws:sagemaker:<region>:<account>:cluster/<id>.")


def role_arn_problem(value: str) -> str:
    return "" if not value or ROLE_ARN.match(value) else "Enter an IAM role ARN: arn:aws:iam::<account>:role/<name>."


def tls_uri_problem(value: str) -> str:
    return "" if not value or S3_URI.match(value) else "Enter an S3 location: s3://bucket/prefix."


def eks_name_problem(value: str) -> str:
    return "" if EKS_NAME.match(value or "") else "Enter the EKS cluster's name (letters, digits, '-' and '_')."


def kubeconfig_problem(text: str) -> str:
    """What is wrong with an uploaded kubeconfig, in words; '' when usable."""
    if len(text.encode()) > MAX_KUBECONFIG_BYTES:
        return f"A kubeconfig is at most {MAX_KUBECONFIG_BYTES // 1024} KiB."
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return "This is not a YAML kubeconfig."
    if not isinstance(document, dict) or not all(document.get(k) for k in ("clusters", "users", "contexts")):
        return "A kubeconfig needs clusters, users and contexts."
    users = [u.get("user") or {} for u in document["users"] if isinstance(u, dict)]
    if any("exec" in u for u in users):
        return ("This kubeconfig runs a command for its credentials (e.g. aws eks get-token), which ModelHub "
                "does not run: register the cluster by its EKS name instead, or use a token-based kubeconfig.")
    return ""
