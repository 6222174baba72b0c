"""What EasyR1 accepts: the PPOConfig dataclass tree `verl.trainer.main` merges a config file into.

Checked in from the reference (EasyR1 b44b311, examples/config.yaml and the config dataclasses;
see llamafactory-easyr1.md §6). OmegaConf merges our YAML over `OmegaConf.structured(PPOConfig())`,
which rejects unknown keys and wrong types; the tests hold every rendered key against this tree.
Leaves are the accepted Python types.
"""

NoneType = type(None)
INT, FLOAT, BOOL, STR = (int,), (int, float), (bool,), (str,)
OPT_INT, OPT_STR = (int, NoneType), (str, NoneType)

_FSDP = {"enable_full_shard": BOOL, "enable_cpu_offload": BOOL, "enable_rank0_init": BOOL}
_OFFLOAD = {"offload_params": BOOL, "offload_optimizer": BOOL}

CONFIG = {
    "data": {
        "train_files": STR, "val_files": STR, "prompt_key": STR, "answer_key": STR, "image_key": STR,
        "video_key": STR, "image_dir": OPT_STR, "video_fps": FLOAT, "max_prompt_length": INT,
        "max_response_length": INT, "rollout_batch_size": INT, "mini_rollout_batch_size": OPT_INT,
        "val_batch_size": INT, "format_prompt": OPT_STR, "override_chat_template": OPT_STR, "shuffle": BOOL,
        "seed": INT, "min_pixels": OPT_INT, "max_pixels": OPT_INT, "filter_overlong_prompts": BOOL,
    },
    "algorithm": {
        "adv_estimator": STR, "disable_kl": BOOL, "use_kl_loss": BOOL, "kl_penalty": STR, "kl_coef": FLOAT,
        "online_filtering": BOOL, "filter_key": STR, "filter_low": FLOAT, "filter_high": FLOAT,
    },
    "worker": {
        "actor": {
            "global_batch_size": INT, "micro_batch_size_per_device_for_update": INT,
            "micro_batch_size_per_device_for_experience": INT, "max_grad_norm": FLOAT, "padding_free": BOOL,
            "dynamic_batching": BOOL, "ulysses_size": INT, "clip_ratio_low": FLOAT, "clip_ratio_high": FLOAT,
            "clip_ratio_dual": FLOAT, "loss_avg_mode": STR, "loss_type": STR, "ppo_epochs": INT,
            "model": {
                "model_path": STR, "enable_gradient_checkpointing": BOOL, "trust_remote_code": BOOL,
                "freeze_vision_tower": BOOL,
                "lora": {"rank": INT, "alpha": INT, "target_modules": STR, "exclude_modules": OPT_STR},
            },
            "optim": {"lr": FLOAT, "weight_decay": FLOAT, "strategy": STR, "lr_warmup_ratio": FLOAT},
            "fsdp": _FSDP,
            "offload": _OFFLOAD,
        },
        "rollout": {
            "n": INT, "temperature": FLOAT, "top_p": FLOAT, "limit_images": INT, "gpu_memory_utilization": FLOAT,
            "enforce_eager": BOOL, "enable_chunked_prefill": BOOL, "tensor_parallel_size": INT,
            "val_override_config": (dict,),
        },
        "ref": {"fsdp": _FSDP, "offload": _OFFLOAD},
        "reward": {"reward_function": STR, "reward_function_kwargs": (dict,)},
    },
    "trainer": {
        "total_epochs": INT, "max_steps": OPT_INT, "project_name": STR, "experiment_name": STR,
        "logger": (list,), "nnodes": INT, "n_gpus_per_node": INT, "max_try_make_batch": INT, "val_freq": INT,
        "val_before_train": BOOL, "val_only": BOOL, "val_generations_to_log": INT, "save_freq": INT,
        "save_limit": INT, "save_model_only": BOOL, "save_checkpoint_path": OPT_STR,
        "load_checkpoint_path": OPT_STR, "find_last_checkpoint": BOOL,
    },
}

ENUMS = {
    "algorithm.adv_estimator": ("gae", "grpo", "grpo_passk", "reinforce_plus_plus", "remax", "rloo"),
    "algorithm.kl_penalty": ("kl", "abs", "mse", "low_var_kl", "full"),
    "worker.actor.loss_avg_mode": ("token", "seq"),
    "worker.actor.loss_type": ("default", "gspo", "gspo_token", "cispo"),
    "worker.actor.optim.strategy": ("adamw", "adamw_bf16"),
}
LOGGERS = ("console", "file", "wandb", "mlflow", "tensorboard", "swanlab")

REQUIRED = frozenset({
    "data.train_files", "data.val_files", "data.prompt_key", "data.answer_key", "data.max_prompt_length",
    "data.max_response_length", "data.rollout_batch_size", "algorithm.adv_estimator",
    "worker.actor.global_batch_size", "worker.actor.model.model_path", "worker.rollout.n",
    "worker.rollout.tensor_parallel_size", "worker.reward.reward_function", "trainer.total_epochs",
    "trainer.nnodes", "trainer.n_gpus_per_node", "trainer.save_checkpoint_path", "trainer.experiment_name",
})


def flatten(config: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}; dict-typed leaves (val_override_config, kwargs) stay whole."""
    flat = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not _is_dict_leaf(path):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def leaf_type(path: str):
    node = CONFIG
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, tuple) else None


def _is_dict_leaf(path: str) -> bool:
    return leaf_type(path) == (dict,)
