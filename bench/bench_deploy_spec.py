"""Cost of validating one deploy spec (what the deploy form's live memory-fit preview runs on each change).

Compares, in one run, validation with the cached image lookup (`apps.backends.sagemaker.images`) against the same
validation when every call goes to sagemaker-core's `image_uris.retrieve`, which re-reads its JSON tables
each time; and the cost of rendering the SageMaker environment from a validated spec.

    .venv/bin/python bench/bench_deploy_spec.py [--rounds 100]
"""

import argparse
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
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="mh-bench-spec-"))


def per_call_ms(function, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        function()
    return (time.perf_counter() - start) / rounds * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    rounds = parser.parse_args().rounds

    import django

    django.setup()
    logging.disable(logging.INFO)  # sagemaker-core logs each lookup
    from apps.backends.sagemaker import images
    from apps.endpoints import engines
    from apps.endpoints.spec import DeploySpecSerializer, ModelFacts

    model = ModelFacts("s3://bucket/jobs/7/merged/", "meta-llama/Llama-3.1-8B-Instruct", parameters_b=8.0,
                       context_length=131072, num_layers=32, hidden_size=4096, num_attention_heads=32, num_kv_heads=8)
    data = {"instance_type": "ml.g5.12xlarge", "max_model_len": 8192, "tool_call_parser": "llama3_json"}

    def validate():
        serializer = DeploySpecSerializer(data=data, context={"model": model})
        assert serializer.is_valid(), serializer.errors
        return serializer.spec

    spec = validate()  # warm: imports, instance table
    cached = per_call_ms(validate, rounds)
    uncached_lookup = images._dlc_uri.__wrapped__
    original = images._dlc_uri
    images._dlc_uri = uncached_lookup
    try:
        uncached = per_call_ms(validate, max(5, rounds // 10))
    finally:
        images._dlc_uri = original
    render = per_call_ms(lambda: engines.sagemaker_environment(spec, model), rounds * 100)

    print(f"validate, cached image lookup:      {cached:8.2f} ms")
    print(f"validate, sagemaker-core each time: {uncached:8.2f} ms  ({uncached / cached:.0f}x slower)")
    print(f"render SageMaker environment:       {render * 1000:8.1f} µs")
    record("bench_deploy_spec", "Deploy spec validation", {
        "validation, cached image lookup (ms)": cached, "validation, sagemaker-core lookup each time (ms)": uncached,
        "uncached / cached": f"{uncached / cached:.0f}×", "rendering the SageMaker environment (µs)": render * 1000},
        note=f"{rounds} rounds.")


if __name__ == "__main__":
    main()
