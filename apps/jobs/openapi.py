"""OpenAPI documentation of the job-create request: one schema per job type.

Each job type's schema lists only the spec fields it uses, with that type's defaults, built from
the one TrainingSpecSerializer (nothing is declared twice).
"""

import copy
from functools import cache

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from apps.core.job_types import JobType

from .serializers import JobNameSerializer
from .spec import TrainingSpecSerializer, defaults_for, fields_for


def _type_serializer(job_type: str) -> type[serializers.Serializer]:
    source = TrainingSpecSerializer._declared_fields
    defaults = defaults_for(job_type)
    attrs = {"name": copy.deepcopy(JobNameSerializer().fields["name"]), "target": serializers.CharField(
        required=False, help_text="The training target (a key of TRAINING_BACKENDS) to run on; it must be usable now. "
                                  "Default: COMPUTE_BACKEND, else the first usable target.")}
    for field_name in ("job_type", *[f for f in fields_for(job_type) if f != "job_type"]):
        original = source[field_name]
        kwargs = copy.deepcopy(original._kwargs)
        if field_name == "job_type":
            # a one-value string, documented inline (a per-type enum component would collide by name)
            literal = type(f"{job_type.upper()}JobTypeField", (serializers.CharField,), {})
            field = extend_schema_field({"type": "string", "enum": [job_type]})(literal)(help_text=JobType(job_type).label)
        else:
            if defaults.get(field_name) is not None:
                kwargs.update(default=defaults[field_name], required=False)
            field = type(original)(*original._args, **kwargs)
        attrs[field_name] = field
    label = job_type.upper()
    return type(f"{label}JobCreate", (serializers.Serializer,), {**attrs, "__doc__": f"Create a {JobType(job_type).label} job."})


@cache
def create_request():
    return PolymorphicProxySerializer(
        component_name="JobCreate",
        serializers={t: _type_serializer(t) for t in JobType.values},
        resource_type_field_name="job_type",
    )
