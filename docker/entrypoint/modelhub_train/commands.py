"""Command lines, as argv lists: they are executed without a shell, so nothing is ever interpolated."""

from __future__ import annotations

import sys


def llamafactory_train(config_path: str, resume_from: str | None = None, overrides=()) -> list[str]:
    argv = ["llamafactory-cli", "train", config_path, *overrides]
    if resume_from:
        argv.append(f"resume_from_checkpoint={resume_from}")
    return argv


def llamafactory_export(config_path: str) -> list[str]:
    return ["llamafactory-cli", "export", config_path]


def llamafactory_predict(config_path: str) -> list[str]:
    """Evaluate and predict: the sft stage with do_predict / predict_with_generate in the YAML."""
    return ["llamafactory-cli", "train", config_path]


# LLaMA-Factory 0.9.4's `llamafactory-cli eval` raises NotImplementedError ("Evaluation will be deprecated"),
# but its Evaluator still reads the YAML named in argv[1] (hparams.parser.read_args), as the CLI did.
BENCHMARK_RUNNER = "from llamafactory.eval.evaluator import run_eval; run_eval()"


def llamafactory_benchmark(config_path: str, python: str = sys.executable) -> list[str]:
    return [python, "-c", BENCHMARK_RUNNER, config_path]


def easyr1_train(config_path: str, resume_from: str | None = None, python: str = sys.executable,
                 overrides=()) -> list[str]:
    argv = [python, "-m", "verl.trainer.main", f"config={config_path}", *overrides]
    if resume_from:
        argv.append(f"trainer.load_checkpoint_path={resume_from}")
    return argv


def easyr1_merge(easyr1_root: str, actor_dir: str, python: str = sys.executable) -> list[str]:
    """Convert an FSDP actor checkpoint to Hugging Face format (writes <actor_dir>/huggingface)."""
    if actor_dir.rstrip("/").endswith("huggingface"):
        raise ValueError("model_merger's --local_dir is the actor folder, not its huggingface/ output.")
    return [python, f"{easyr1_root}/scripts/model_merger.py", "--local_dir", actor_dir]


def ray_head(port: int, gpus: int) -> list[str]:
    return ["ray", "start", "--head", f"--port={port}", f"--num-gpus={gpus}", "--disable-usage-stats"]


def ray_worker(master_addr: str, port: int, gpus: int) -> list[str]:
    return ["ray", "start", f"--address={master_addr}:{port}", f"--num-gpus={gpus}", "--disable-usage-stats"]


def ray_stop() -> list[str]:
    return ["ray", "stop", "--force"]


def tracking_off(tool: str) -> list[str]:
    """Command-line overrides that turn experiment tracking off (when its key is missing)."""
    if tool == "easyr1":
        return ["trainer.logger=[console,file]"]
    return ["report_to=none", "use_swanlab=false"]
