"""AWS exceptions become backend errors whose class tells tasks whether to retry."""

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from apps.backends.aws import aws_errors, translate
from apps.backends.errors import (
    RemoteConflict, RemoteNotConfigured, RemoteNotFound, RemoteValidationError, TransientError,
)


def client_error(code: str, message: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "CreateTrainingJob")


@pytest.mark.parametrize(
    "exc, expected",
    [
        (client_error("ThrottlingException", "Rate exceeded"), TransientError),
        (client_error("InternalFailure", "oops", 500), TransientError),
        (client_error("SomethingNew", "upstream hiccup", 503), TransientError),
        (EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com"), TransientError),
        (client_error("ResourceInUse", "Training job names must be unique"), RemoteConflict),
        (client_error("ValidationException", "Could not find training job 'x'."), RemoteNotFound),
        (client_error("ResourceNotFoundException", "no such group"), RemoteNotFound),
        (client_error("ValidationException", "1 validation error detected: InstanceType"), RemoteValidationError),
        (NoCredentialsError(), RemoteNotConfigured),  # a RemoteValidationError: terminal, never retried
    ],
)
def test_translation_decides_retry_or_fail(exc, expected):
    assert type(translate(exc)) is expected
    assert issubclass(RemoteNotConfigured, RemoteValidationError)


def test_validation_message_keeps_aws_words():
    error = translate(client_error("ValidationException", "1 validation error detected: InstanceType"))
    assert str(error) == "ValidationException: 1 validation error detected: InstanceType"


def test_missing_credentials_say_what_to_configure():
    assert "Set AWS credentials" in str(translate(NoCredentialsError()))


def test_context_manager_translates_and_chains():
    with pytest.raises(RemoteConflict) as caught, aws_errors():
        raise client_error("ResourceInUse", "exists")
    assert isinstance(caught.value.__cause__, ClientError)
