"""CloudWatch log tail of one training job, against moto's CloudWatch Logs."""

import time

import boto3
import pytest
from moto import mock_aws

from apps.backends.sagemaker import logs as cloudwatch

GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture
def logs_client(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("logs", region_name="us-east-1")


def put(client, stream, lines, start_ms):
    try:
        client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    except client.exceptions.ResourceAlreadyExistsException:
        pass
    client.put_log_events(
        logGroupName=GROUP, logStreamName=stream,
        logEvents=[{"timestamp": start_ms + i * 10, "message": line} for i, line in enumerate(lines)],
    )


def test_missing_group_is_an_empty_page(logs_client):
    page = cloudwatch.tail(logs_client, GROUP, "mhjob-a-1x")
    assert page.lines == [] and page.next_token is None


def test_reads_only_this_jobs_streams_from_all_nodes_and_pages_forward(logs_client):
    logs_client.create_log_group(logGroupName=GROUP)
    t0 = int(time.time() * 1000) - 60_000
    put(logs_client, "mhjob-a-1abcde/algo-1-1760000000", ["node1 a", "node1 b"], t0)
    put(logs_client, "mhjob-a-1abcde/algo-2-1760000000", ["node2 a"], t0 + 5)
    # a job whose name starts with ours must not leak in
    put(logs_client, "mhjob-a-1abcdef/algo-1-1760000000", ["other job"], t0)

    page = cloudwatch.tail(logs_client, GROUP, "mhjob-a-1abcde")
    assert [line.message for line in page.lines] == ["node1 a", "node2 a", "node1 b"]
    assert {line.stream for line in page.lines} == {"algo-1-1760000000", "algo-2-1760000000"}
    assert page.next_token

    again = cloudwatch.tail(logs_client, GROUP, "mhjob-a-1abcde", page.next_token)
    assert again.lines == []

    put(logs_client, "mhjob-a-1abcde/algo-1-1760000000", ["node1 c"], t0 + 100)
    put(logs_client, "mhjob-a-1abcde/algo-3-1760000000", ["node3 late"], t0 + 200)
    later = cloudwatch.tail(logs_client, GROUP, "mhjob-a-1abcde", again.next_token)
    assert [line.message for line in later.lines] == ["node1 c", "node3 late"]


def test_limit_splits_across_pages(logs_client):
    logs_client.create_log_group(logGroupName=GROUP)
    put(logs_client, "mhjob-b-2zzzzz/algo-1-1", [f"line {i}" for i in range(25)], int(time.time() * 1000) - 60_000)
    seen, token = [], None
    for _ in range(5):
        page = cloudwatch.tail(logs_client, GROUP, "mhjob-b-2zzzzz", token, limit=10)
        seen += [line.message for line in page.lines]
        token = page.next_token
    assert seen == [f"line {i}" for i in range(25)]


def test_bad_token_is_rejected():
    with pytest.raises(ValueError):
        cloudwatch.decode_token("not-base64-json!")
