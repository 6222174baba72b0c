"""The GRPO family on the local target: TRL's GRPOTrainer on config/trl.yaml (apps/jobs/renderers/trl.py).

    <LOCAL_PYTHON> apps/backends/local/grpo.py <job folder>/config/trl.yaml <job folder>

Started by runner.py. Reads the prompt/answer split EasyR1 would read, applies the same format prompt,
scores with the same reward (rewards.py), writes the trainer log in LLaMA-Factory's shape where the
job page reads the GRPO family's log, and saves the final model (a LoRA adapter merged into its base)
in Hugging Face format to huggingface/, which deploys like EasyR1's export.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import layout  # noqa: E402
import rewards  # noqa: E402


def _data_file(spec: str) -> str:
    return spec.rsplit("@", 1)[0]  # EasyR1's "<file>@<split>"


def load_split(path: str, prompt_key: str, answer_key: str, template):
    from datasets import load_dataset

    rows = load_dataset("json", data_files=_data_file(path), split="train")

    def to_prompt(row):
        content = str(row[prompt_key])
        text = template.render(content=content) if template is not None else content
        return {"prompt": [{"role": "user", "content": text}], "ground_truth": str(row[answer_key])}

    return rows.map(to_prompt, remove_columns=rows.column_names)


def reward_function(reward: dict, tokenizer):
    kind, compute = rewards.load(reward)
    kwargs = reward.get("kwargs") or {}

    def overall(completions, ground_truth, completion_ids=None, **_):
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        lengths = [len(ids) for ids in completion_ids] if completion_ids is not None else [0] * len(texts)
        inputs = [{"response": t, "ground_truth": g, "response_length": n}
                  for t, g, n in zip(texts, ground_truth, lengths)]
        return [float(s["overall"]) for s in rewards.score(kind, compute, inputs, kwargs)]

    overall.__name__ = reward["name"]
    return overall


def main(config_path: Path, job_dir: Path) -> None:
    import jinja2
    import torch
    import yaml
    from trainer_log import TrainerLogCallback
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    config = layout.relocate(yaml.safe_load(config_path.read_text()), layout.mounts(job_dir))
    prompt = config["format_prompt"]
    template = None
    if prompt:
        source = Path(prompt["path"]).read_text() if prompt["name"] == "custom" else rewards.FORMAT_PROMPTS[prompt["name"]]
        template = jinja2.Environment().from_string(source)
    data = config["data"]
    train = load_split(data["train_files"], data["prompt_key"], data["answer_key"], template)
    args = dict(config["grpo"])
    evaluate = args.get("eval_strategy") == "steps"
    val = load_split(data["val_files"], data["prompt_key"], data["answer_key"], template) if evaluate else None
    gpu = torch.cuda.is_available()
    args.update(use_cpu=not gpu, bf16=gpu and torch.cuda.is_bf16_supported(), save_only_model=True)
    if evaluate:
        args["per_device_eval_batch_size"] = args["per_device_train_batch_size"]

    tokenizer = AutoTokenizer.from_pretrained(config["model_path"])
    model = AutoModelForCausalLM.from_pretrained(config["model_path"], dtype=torch.bfloat16 if args["bf16"] else None)
    peft_config = None
    if config["lora"]:
        from peft import LoraConfig

        lora = config["lora"]
        peft_config = LoraConfig(r=lora["rank"], lora_alpha=lora["alpha"], target_modules=lora["target_modules"],
                                 task_type="CAUSAL_LM")
    trainer = GRPOTrainer(
        model=model, processing_class=tokenizer, reward_funcs=[reward_function(config["reward"], tokenizer)],
        args=GRPOConfig(**args), train_dataset=train, eval_dataset=val, peft_config=peft_config,
        callbacks=[TrainerLogCallback(config["trainer_log"])],
    )
    result = trainer.train()
    trainer.save_metrics("all", result.metrics)  # all_results.json, as LLaMA-Factory writes it
    final = trainer.model
    if peft_config is not None:
        final = final.merge_and_unload()
    export = Path(config["export_dir"])
    export.mkdir(parents=True, exist_ok=True)
    final.save_pretrained(export)
    tokenizer.save_pretrained(export)
    print(f"[modelhub-local] saved the model to {export}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: grpo.py <trl.yaml> <job folder>")
    main(Path(sys.argv[1]), Path(sys.argv[2]).resolve())
