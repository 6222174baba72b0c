"""AWS validation errors keep the wrong value and a few allowed ones, not the whole enum."""

from botocore.exceptions import ClientError

from apps.backends.aws import translate
from apps.backends.aws_messages import readable
from apps.backends.errors import RemoteValidationError

INSTANCE_TYPES = [f"ml.{family}.{size}" for family in ("m5", "c5", "g5", "p4d", "g4dn", "p5", "trn1", "inf2")
                  for size in ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "24xlarge")]
DUMP = ("1 validation error detected: Value 'ml.g4dn.xlarge' at 'resourceConfig.instanceType' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(INSTANCE_TYPES)}]")


def test_a_long_enum_is_cut_to_a_few_values_with_the_count():
    short = readable(DUMP)
    assert short.startswith("1 validation error detected: Value 'ml.g4dn.xlarge' at 'resourceConfig.instanceType'")
    assert f"one of {len(INSTANCE_TYPES)} allowed values (e.g. ml.m5.large," in short
    assert "ml.inf2.24xlarge" not in short and len(short) < 300


def test_two_errors_are_each_shortened_and_short_sets_are_kept():
    two = DUMP.replace("1 validation error", "2 validation errors") + "; Value 'x' at 'mode' failed to satisfy " \
        "constraint: Member must satisfy enum value set: [File, Pipe]"
    short = readable(two)
    assert short.count("allowed values") == 1 and short.endswith("[File, Pipe]")
    assert readable("Could not find model") == "Could not find model"


def test_translate_gives_the_short_message():
    exc = ClientError({"Error": {"Code": "ValidationException", "Message": DUMP},
                       "ResponseMetadata": {"HTTPStatusCode": 400}}, "CreateTrainingJob")
    error = translate(exc)
    assert isinstance(error, RemoteValidationError)
    assert str(error).startswith("ValidationException: 1 validation error") and "ml.inf2.24xlarge" not in str(error)
