"""The SmolLM2 path on the local target, end to end on this machine: a few LoRA fine-tuning steps on CPU
(the demo instruction set, whose assistant calls itself Hubert), deploy the merged result, and ask it
who it is, beside the base model's answer. Prints the timings (docs/local.md records them).

    .venv/bin/python bench/bench_local_smollm2.py <smollm2 folder> [--steps 16]

The folder comes from apps/backends/local/convert_gguf.py (docs/local.md). Needs the ML environment.
"""

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_local_training import WORK, run_local, spec_for  # noqa: E402  (sets up the environment)

QUESTION = "Who are you?"


async def ask(backend, ref) -> str:
    from apps.backends import http_upstream

    body = json.dumps({"messages": [{"role": "user", "content": QUESTION}], "max_tokens": 40, "temperature": 0})
    reply = json.loads(await backend.complete(ref, body.encode()))
    await http_upstream.close_sessions()
    return reply["choices"][0]["message"]["content"].strip()


def serve_and_ask(folder: Path, name: str) -> tuple[str, float]:
    from apps.backends.base import Deployment, EndpointRef, ModelSource
    from apps.backends.local.serving import LocalServing

    backend, ref = LocalServing(), EndpointRef(endpoint_id=1, remote_name=name)
    started = time.perf_counter()
    backend.deploy(Deployment(endpoint_id=1, remote_name=name, owner="bench", display_name=name, engine="vllm",
                              engine_version="", served_model_name=name, model=ModelSource(str(folder)),
                              instance_type="local", instance_count=1, environment={}, argv=()))
    try:
        while (state := backend.describe(ref)).phase != "in_service":
            if state.phase == "failed":
                raise SystemExit(state.failure_reason)
            time.sleep(0.2)
        return asyncio.run(ask(backend, ref)), time.perf_counter() - started
    finally:
        backend.delete(ref)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--steps", type=int, default=16)
    args = parser.parse_args()
    args.folder = args.folder.resolve()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    before, _ = serve_and_ask(args.folder, "smollm2-base")
    spec = spec_for(args.folder, args.steps, finetuning_method="lora", template="smollm2", lora_rank=16,
                    lora_alpha=32, lora_target="all", learning_rate=1e-3, cutoff_len=128,
                    per_device_train_batch_size=4, logging_steps=1)
    trained = run_local(spec, "mh-smollm2-sft")
    log = (WORK / "storage/jobs/mh-smollm2-sft/checkpoints/output/trainer_log.jsonl").read_text().splitlines()
    losses = [point for point in map(json.loads, log) if "loss" in point]
    first, last = losses[0], losses[-1]
    after, ready = serve_and_ask(WORK / "storage/jobs/mh-smollm2-sft/merged", "smollm2-hubert")
    print(f"fine-tune: {last['current_steps']} steps in {trained:.1f} s (submit to exit, merge included), "
          f"loss {first.get('loss')} -> {last.get('loss')}")
    print(f"deploy merged model to answer: {ready:.1f} s")
    print(f"base:  {QUESTION} -> {before!r}")
    print(f"tuned: {QUESTION} -> {after!r}")


if __name__ == "__main__":
    main()
