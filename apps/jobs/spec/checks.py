"""Validators for single values: S3 URIs, custom reward code and format prompts, secret references."""

import ast
import re

from rest_framework import serializers

from apps.core import limits
from apps.core.huggingface import is_hf_repo_id

from .fields import MAX_CUSTOM_CODE_CHARS

S3_URI = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[^\x00-\x1f\x7f]*)?")
SECRET_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
# SageMaker's ResourceConfig.TrainingPlanArn, with its TrainingPlanName rule for the name part.
TRAINING_PLAN_ARN = re.compile(
    r"arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):[0-9]{12}:training-plan/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}"
)


def validate_s3_uri(value: str, *, require_key: bool = True) -> str:
    """Raise serializers.ValidationError unless `value` is s3://bucket/key (bucket naming rules)."""
    match = S3_URI.fullmatch(value or "")
    if not match or ".." in match.group(1):
        raise serializers.ValidationError("Enter an S3 URI like s3://bucket/prefix/ (lowercase bucket name).")
    if require_key and not (match.group(2) or "").strip("/"):
        raise serializers.ValidationError("Give a prefix inside the bucket, not the bucket alone.")
    return value


def validate_training_plan_arn(value: str, region: str) -> str:
    """Raise serializers.ValidationError unless `value` is a training plan's ARN in `region` (a job can
    only use reserved capacity in its own region)."""
    match = TRAINING_PLAN_ARN.fullmatch(value or "")
    if not match:
        raise serializers.ValidationError(
            "Enter a SageMaker training plan ARN like arn:aws:sagemaker:us-east-1:123456789012:training-plan/my-plan."
        )
    if match.group("region") != region:
        raise serializers.ValidationError(
            f"This training plan is in {match.group('region')}; jobs run in {region}, so use a plan from {region}."
        )
    return value


def check_reward_code(code: str) -> list[str]:
    """Problems with custom reward code, in words (the code is only parsed here, never run)."""
    if len(code) > MAX_CUSTOM_CODE_CHARS:
        return [f"Keep the reward code under {MAX_CUSTOM_CODE_CHARS} characters."]
    try:
        tree = limits.parse_python(code)
    except SyntaxError as exc:
        return [f"Line {exc.lineno}: {exc.msg}."]
    except limits.LimitExceeded as exc:
        return [exc.message]
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    problems = []
    if "compute_score" not in functions:
        problems.append("Define a top-level function compute_score(...).")
    elif not functions["compute_score"].args.args:
        problems.append("compute_score must take the reward input(s) as its first argument.")
    reward_type = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "REWARD_TYPE" for t in node.targets):
            reward_type = node.value.value if isinstance(node.value, ast.Constant) else "?"
    if reward_type not in ("batch", "sequential"):
        problems.append('Declare REWARD_TYPE = "batch" (a list of inputs) or "sequential" (one input).')
    return problems


def check_format_prompt(template: str) -> list[str]:
    import jinja2

    if len(template) > MAX_CUSTOM_CODE_CHARS:
        return [f"Keep the format prompt under {MAX_CUSTOM_CODE_CHARS} characters."]
    too_deep = limits.template_problem(template)
    if too_deep:
        return [too_deep]
    try:
        parsed = jinja2.Environment().parse(template)
    except jinja2.TemplateSyntaxError as exc:
        return [f"Line {exc.lineno}: {exc.message}."]
    from jinja2 import meta

    if "content" not in meta.find_undeclared_variables(parsed):
        return ["Use {{ content }} where the prompt text goes."]
    return []


def instance_named(name: str):
    from apps.catalog import instances

    return instances.instance_types().get(name)


def instance_type_choices() -> list[tuple[str, str]]:
    from apps.catalog import instances

    return [(name, it.label) for name, it in instances.instance_types().items()]


def looks_like_key(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{40}", value)) or (len(value) >= 32 and not re.search(r"[-_.:]", value))
