"""What EasyR1 accepts: the PPOConfig dataclass tree `verl.trainer.main` merges a config file into.

Recorded from EasyR1 at commit b44b311b669bf1fd1aa2fc36f2251482ba33cb16 (the one
docker/easyr1.Dockerfile checks out): the dataclasses of verl/trainer/config.py and
verl/workers/{actor,rollout,reward}/config.py, the enums of verl/trainer/core_algos.py and
verl/utils/logger/logger.py, and the start-up checks of verl/trainer/ray_trainer.py and
verl/workers/fsdp_workers.py (`startup_problems`). OmegaConf merges our YAML over
`OmegaConf.structured(PPOConfig())`, which rejects unknown keys and wrong types; the tests hold every
rendered config against this tree and these checks. Leaves are the accepted Python types.
"""

COMMIT = "b44b311b669bf1fd1aa2fc36f2251482ba33cb16"

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
    "worker.actor.loss_type": ("default", "gspo", "gspo_token", "cispo", "sapo"),
    "worker.actor.optim.strategy": ("adamw", "adamw_bf16"),
}
LOGGERS = ("console", "file", "wandb", "mlflow", "tensorboard", "swanlab")
ADV_ESTIMATORS_NEEDING_GROUPS = ("grpo", "rloo")  # need rollout.n > 1

# Packages the training image adds to the EasyR1 base image (which has wandb and liger-kernel but neither
# of these): docker/easyr1.Dockerfile installs them pinned and imports them at build time.
IMAGE_PACKAGES = {
    "swanlab": "0.6.12",  # logger swanlab
    "tensorboard": "2.20.0",  # logger tensorboard (torch.utils.tensorboard)
}
IMPORT_NAMES = {"swanlab": "swanlab", "tensorboard": "tensorboard"}

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


def startup_problems(config: dict) -> list[str]:
    """The checks EasyR1 runs before training, on a rendered config (nested dict); [] when it starts.

    Mirrors RayPPOTrainer.__init__ and the FSDP worker's batch normalisation at COMMIT for the actor
    (our configs never use a critic: the estimator is grpo).
    """
    flat = flatten(config)
    problems = []
    rollout, n = flat["data.rollout_batch_size"], flat["worker.rollout.n"]
    global_bs = flat["worker.actor.global_batch_size"]
    if flat["algorithm.adv_estimator"] not in ENUMS["algorithm.adv_estimator"]:
        problems.append("Unknown advantage estimator.")
    if rollout % global_bs:
        problems.append("Rollout batch size must be divisible by actor global batch size.")
    if (rollout * n) % flat["worker.actor.micro_batch_size_per_device_for_experience"]:
        problems.append("Rollout batch size * rollout.n must be divisible by actor micro batch size for experience.")
    if flat["algorithm.adv_estimator"] in ADV_ESTIMATORS_NEEDING_GROUPS and n == 1:
        problems.append("GRPO and RLOO algorithm need `config.worker.rollout.n > 1`.")
    world = flat["trainer.nnodes"] * flat["trainer.n_gpus_per_node"]
    ulysses = flat.get("worker.actor.ulysses_size", 1)
    per_device = (global_bs * (n if n > 1 else 1)) // (world // ulysses)
    if per_device == 0:
        problems.append("actor global batch size * ulysses size must be larger than num gpus.")
    elif per_device % flat["worker.actor.micro_batch_size_per_device_for_update"]:
        problems.append("actor global batch size per device must be divisible by the micro batch size.")
    if flat.get("worker.actor.fsdp.enable_cpu_offload") and per_device != flat[
            "worker.actor.micro_batch_size_per_device_for_update"]:
        problems.append("actor cannot use FSDP's CPU offload when gradient accumulation is enabled.")
    if world % flat["worker.rollout.tensor_parallel_size"]:
        problems.append("rollout world size is not divisible by tp size.")
    if flat["worker.actor.clip_ratio_low"] >= 1:
        problems.append("clip_ratio_low >= 1: log(1 - clip_ratio_low) is undefined.")
    for logger in flat["trainer.logger"]:
        if logger not in LOGGERS:
            problems.append(f"{logger} is not supported.")
    load = flat.get("trainer.load_checkpoint_path")
    if load and "global_step_" not in load.strip("/").split("/")[-1]:
        problems.append("`load_checkpoint_path` should end with `global_step_*`.")
    return problems
