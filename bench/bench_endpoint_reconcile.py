"""What one endpoint reconcile cycle costs in SageMaker API calls and time, against moto in-process.

Compares, for N endpoints, ModelHub's poll (one ListEndpoints call per 100 endpoints, DescribeEndpoint
only for endpoints whose status changed) with the per-object alternative (one DescribeEndpoint per
endpoint per cycle, what a poller per endpoint does). Measured in one run:

    .venv/bin/python bench/bench_endpoint_reconcile.py [--endpoints 300] [--rounds 5]

moto answers in microseconds where SageMaker takes tens of milliseconds per call and throttles, so the
call counts are the figure that transfers to production; the times are only comparable with each other.
"""

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.results import record  # noqa: E402
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelhub.settings")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="mh-bench-reconcile-"))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_ENDPOINT_URL", None)
REGION = "us-east-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from moto import mock_aws

    from apps.backends import aws
    from apps.backends.sagemaker.serving import SageMakerServing
    from apps.endpoints.deployment import ref
    from apps.endpoints.models import Endpoint

    with mock_aws():
        aws.client.cache_clear()
        sagemaker = aws.client("sagemaker")
        calls = []
        sagemaker.meta.events.register("before-call.sagemaker.*", lambda event_name, **kw: calls.append(event_name))
        sagemaker.create_model(ModelName="mh-bench-model", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                               PrimaryContainer={"Image": "bench:1"})
        sagemaker.create_endpoint_config(EndpointConfigName="mh-bench-config", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "mh-bench-model", "InstanceType": "ml.g4dn.xlarge",
            "InitialInstanceCount": 1}])
        endpoints = []
        for i in range(args.endpoints):
            name = f"mh-bench-{i}"
            sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="mh-bench-config")
            endpoints.append(ref(Endpoint(pk=i + 1, name=name, remote_name=name, remote_status="InService")))
        backend = SageMakerServing()

        def measure(cycle):
            calls.clear()
            start = time.perf_counter()
            for _ in range(args.rounds):
                cycle()
            return len(calls) / args.rounds, (time.perf_counter() - start) / args.rounds * 1000

        steady_calls, steady_ms = measure(lambda: backend.poll_many(endpoints))
        changed = max(1, args.endpoints // 20)  # 5% changed since the last cycle
        endpoints[:changed] = [dataclasses.replace(e, last_status="Creating") for e in endpoints[:changed]]
        changed_calls, changed_ms = measure(lambda: backend.poll_many(endpoints))
        naive_calls, naive_ms = measure(lambda: [backend.describe(e) for e in endpoints])
        aws.client.cache_clear()

    n = args.endpoints
    print(f"{n} endpoints, {args.rounds} rounds each (moto in-process)")
    print(f"{'cycle':<48}{'API calls':>10}{'ms':>10}")
    print(f"{'ModelHub, nothing changed':<48}{steady_calls:>10.0f}{steady_ms:>10.1f}")
    print(f"{'ModelHub, 5% of endpoints changed':<48}{changed_calls:>10.0f}{changed_ms:>10.1f}")
    print(f"{'one DescribeEndpoint per endpoint':<48}{naive_calls:>10.0f}{naive_ms:>10.1f}")
    print(f"calls: per-object / ModelHub steady = {naive_calls / steady_calls:.0f}x; "
          f"time: {naive_ms / steady_ms:.1f}x")
    record("bench_endpoint_reconcile", "Endpoint reconcile cycle", {
        "ModelHub, nothing changed: API calls / ms": f"{steady_calls:.0f} / {steady_ms:.1f}",
        "ModelHub, 5% of endpoints changed: API calls / ms": f"{changed_calls:.0f} / {changed_ms:.1f}",
        "one DescribeEndpoint per endpoint: API calls / ms": f"{naive_calls:.0f} / {naive_ms:.1f}",
        "per-object / ModelHub (nothing changed)": f"{naive_calls / steady_calls:.0f}× calls, "
                                                    f"{naive_ms / steady_ms:.1f}× time"},
        note=f"{n} endpoints, {args.rounds} rounds each, moto in-process.")


if __name__ == "__main__":
    main()
