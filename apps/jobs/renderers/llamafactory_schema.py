"""What LLaMA-Factory accepts: argument names and enums of the exact version the training image runs.

Recorded from LLaMA-Factory v0.9.4 (tag commit 95ac3f2373b82662c1bd855c284d3379e6a763d3), the release
docker/llamafactory.Dockerfile builds on: `hparams/*.py` (argument names and Literal/Enum choices),
`data/template.py` (registered chat templates), `extras/constants.py` (QuantizationMethod) and
`hparams/parser.py` (start-up checks, applied as spec rules in apps/jobs/spec/rules.py). The YAML is
parsed by HfArgumentParser over ModelArguments, DataArguments, Seq2SeqTrainingArguments,
FinetuningArguments and GeneratingArguments, which rejects unknown keys; the tests hold every
rendered key against this table, and tests/jobs/test_render_llamafactory_parser.py runs the real
`get_train_args` of this version over the golden files where it is installed.
"""

VERSION = "0.9.4"
COMMIT = "95ac3f2373b82662c1bd855c284d3379e6a763d3"

STAGES = ("sft", "pt", "rm", "ppo", "dpo", "kto")
FINETUNING_TYPES = ("lora", "oft", "freeze", "full")
PREF_LOSSES = ("sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo")
REWARD_MODEL_TYPES = ("lora", "full", "api")
FLASH_ATTN = ("auto", "disabled", "sdpa", "fa2", "fa3")
ROPE_SCALINGS = ("linear", "dynamic", "yarn", "llama3")  # extras/constants.RopeScaling
GALORE_PROJ_TYPES = ("std", "reverse_std", "right", "left", "full")
BADAM_MODES = ("layer", "ratio")
BADAM_SWITCH_MODES = ("ascending", "descending", "random", "fixed")
# The base optimizers LLaMA-Factory wraps (train/trainer_utils.py `_create_galore_optimizer`,
# `_create_apollo_optimizer`); any other `optim` raises NotImplementedError when training starts.
GALORE_OPTIMIZERS = ("adamw_torch", "adamw_8bit", "paged_adamw_8bit", "adafactor")
APOLLO_OPTIMIZERS = ("adamw_torch",)
QUANTIZATION_BITS = (4, 8)
QUANTIZATION_METHODS = ("bnb", "gptq", "awq", "aqlm", "quanto", "eetq", "hqq", "mxfp4", "fp8")
EXPORT_DEVICES = ("cpu", "auto")
LR_SCHEDULERS = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
    "inverse_sqrt",
)
OPTIMIZERS = ("adamw_torch", "adamw_torch_fused", "adamw_8bit", "paged_adamw_8bit", "adafactor", "sgd")
REPORT_TO = ("none", "wandb", "tensorboard", "swanlab", "mlflow")
EVAL_STRATEGIES = ("no", "steps", "epoch")

# DeepSpeed configs shipped in LLaMA-Factory's examples/deepspeed/ (present in the training image).
DEEPSPEED_CONFIGS = {
    (0, False): "ds_z0_config.json",
    (2, False): "ds_z2_config.json",
    (2, True): "ds_z2_offload_config.json",
    (3, False): "ds_z3_config.json",
    (3, True): "ds_z3_offload_config.json",
}

# Chat templates registered in v0.9.4's data/template.py (names, not model names). Newer names such as
# phi4_mini do not exist there: LLaMA-Factory stops with "Template ... does not exist."
TEMPLATES = frozenset({
    "alpaca", "aquila", "atom", "baichuan", "baichuan2", "bailing", "bailing_v2", "belle", "bluelm", "breeze",
    "chatglm2", "chatglm3", "chatml", "chatml_de", "codegeex2", "codegeex4", "cohere", "cpm", "cpm3", "cpm4",
    "dbrx", "deepseek", "deepseek3", "deepseekcoder", "deepseekr1", "default", "dots_ocr", "empty", "ernie",
    "ernie_nothink", "ernie_vl", "exaone", "falcon", "falcon_h1", "fewshot", "gemma", "gemma2", "gemma3",
    "gemma3n", "glm4", "glm4_5v", "glm4_moe", "glm4v", "glmz1", "gpt_oss", "granite3", "granite3_vision",
    "granite4", "hunyuan", "index", "intern", "intern2", "intern_s1", "intern_vl", "keye_vl", "kimi_vl",
    "llama2", "llama2_zh", "llama3", "llama4", "llava", "llava_next", "llava_next_llama3", "llava_next_mistral",
    "llava_next_qwen", "llava_next_video", "llava_next_video_mistral", "llava_next_video_yi", "llava_next_yi",
    "marco", "mimo", "mimo_v2", "mimo_vl", "minicpm_o", "minicpm_v", "minimax1", "minimax2", "ministral",
    "ministral3", "mistral", "mistral_small", "mllama", "moonlight", "olmo", "openchat", "openchat-3.6",
    "opencoder", "orion", "paligemma", "paligemma_chat", "phi", "phi4", "phi_small", "pixtral", "qwen",
    "qwen2_audio", "qwen2_omni", "qwen2_vl", "qwen3", "qwen3_nothink", "qwen3_omni", "qwen3_omni_nothink",
    "qwen3_vl", "qwen3_vl_nothink", "sailor", "seed_coder", "seed_oss", "skywork_o1", "smollm", "smollm2",
    "solar", "starchat", "telechat", "telechat2", "vicuna", "video_llava", "xuanyuan", "xverse", "yayi", "yi",
    "yi_vl", "yuan", "zephyr", "ziya"
})

# Python packages the training image adds to the official image (which has flash-attn 2.7.4 and
# DeepSpeed but none of these), pinned; docker/llamafactory.Dockerfile installs exactly these and imports
# each at build time (tests/docker/test_dockerfiles.py holds the two together). LLaMA-Factory checks
# them at start-up (`_check_extra_dependencies`, bitsandbytes in the quantization loader).
IMAGE_PACKAGES = {
    "bitsandbytes": "0.46.1",  # QLoRA (quantization_method bnb)
    "liger-kernel": "0.6.2",  # booster liger (enable_liger_kernel)
    "swanlab": "0.6.12",  # tracker swanlab (use_swanlab)
    "wandb": "0.22.3",  # tracker wandb (report_to wandb)
    "tensorboard": "2.20.0",  # tracker tensorboard (report_to tensorboard)
    "galore-torch": "1.0",  # use_galore (LLaMA-Factory checks galore_torch at start-up)
    "apollo-torch": "1.0.3",  # use_apollo (apollo_torch)
    "badam": "1.2.2",  # use_badam (badam>=1.2.1)
}
IMPORT_NAMES = {"bitsandbytes": "bitsandbytes", "liger-kernel": "liger_kernel", "swanlab": "swanlab",
                "wandb": "wandb", "tensorboard": "tensorboard", "galore-torch": "galore_torch",
                "apollo-torch": "apollo_torch", "badam": "badam"}

# Argument names, grouped by the dataclass that defines them.
MODEL_ARGS = frozenset({
    "model_name_or_path", "adapter_name_or_path", "adapter_folder", "cache_dir", "use_fast_tokenizer",
    "resize_vocab", "split_special_tokens", "add_tokens", "add_special_tokens", "model_revision",
    "low_cpu_mem_usage", "rope_scaling", "flash_attn", "shift_attn", "mixture_of_depths", "use_unsloth",
    "use_unsloth_gc", "enable_liger_kernel", "moe_aux_loss_coef", "disable_gradient_checkpointing",
    "use_reentrant_gc", "upcast_layernorm", "upcast_lmhead_output", "train_from_scratch", "infer_backend",
    "offload_folder", "infer_dtype", "hf_hub_token", "ms_hub_token", "om_hub_token",
    "print_param_status", "trust_remote_code", "quantization_method", "quantization_bit", "quantization_type",
    "double_quantization", "quantization_device_map", "export_dir", "export_size", "export_device",
    "export_quantization_bit", "export_quantization_dataset", "export_quantization_nsamples",
    "export_quantization_maxlen", "export_legacy_format", "export_hub_model_id", "vllm_maxlen",
    "vllm_gpu_util", "vllm_enforce_eager", "vllm_max_lora_rank", "vllm_config",
})
DATA_ARGS = frozenset({
    "template", "dataset", "eval_dataset", "dataset_dir", "media_dir", "cutoff_len", "train_on_prompt",
    "mask_history", "streaming", "buffer_size", "mix_strategy", "interleave_probs", "overwrite_cache",
    "preprocessing_batch_size", "preprocessing_num_workers", "max_samples", "eval_num_beams",
    "ignore_pad_token_for_loss", "val_size", "eval_on_each_dataset", "packing", "neat_packing", "tool_format",
    "default_system", "enable_thinking", "tokenized_path", "data_shared_file_system",
})
FINETUNING_ARGS = frozenset({
    "stage", "do_train", "finetuning_type", "use_llama_pro", "use_adam_mini", "use_muon", "use_dft_loss",
    "freeze_vision_tower", "freeze_multi_modal_projector", "freeze_language_model",
    "compute_accuracy", "disable_shuffling", "early_stopping_steps", "plot_loss", "include_effective_tokens_per_second",
    "freeze_trainable_layers", "freeze_trainable_modules", "freeze_extra_modules",
    "additional_target", "lora_alpha", "lora_dropout", "lora_rank", "lora_target", "loraplus_lr_ratio",
    "loraplus_lr_embedding", "use_rslora", "use_dora", "pissa_init", "pissa_iter", "pissa_convert",
    "create_new_adapter", "pref_beta", "pref_ftx", "pref_bco_weight", "pref_loss", "dpo_label_smoothing",
    "kto_chosen_weight", "kto_rejected_weight", "simpo_gamma", "ppo_buffer_size", "ppo_epochs",
    "ppo_score_norm", "ppo_target", "ppo_whiten_rewards", "ref_model", "ref_model_adapters",
    "ref_model_quantization_bit", "reward_model", "reward_model_adapters", "reward_model_quantization_bit",
    "reward_model_type", "ld_alpha", "pure_bf16",
    "module_dropout", "oft_rank", "oft_block_size", "oft_target",
    "use_galore", "galore_target", "galore_rank", "galore_update_interval", "galore_scale", "galore_proj_type",
    "galore_layerwise", "use_apollo", "apollo_target", "apollo_rank", "apollo_update_interval", "apollo_scale",
    "apollo_proj", "apollo_proj_type", "apollo_scale_type", "apollo_layerwise", "apollo_scale_front",
    "use_badam", "badam_mode", "badam_start_block", "badam_switch_mode", "badam_switch_interval",
    "badam_update_ratio", "badam_mask_mode", "badam_verbose",
    "use_swanlab", "swanlab_project", "swanlab_workspace", "swanlab_run_name", "swanlab_mode",
    "swanlab_api_key", "swanlab_logdir", "swanlab_lark_webhook_url", "swanlab_lark_secret",
})
GENERATING_ARGS = frozenset({
    "do_sample", "temperature", "top_p", "top_k", "num_beams", "max_length", "max_new_tokens",
    "repetition_penalty", "length_penalty", "skip_special_tokens",
})
TRAINING_ARGS = frozenset({
    "output_dir", "overwrite_output_dir", "do_eval", "do_predict", "eval_strategy", "per_device_train_batch_size",
    "per_device_eval_batch_size", "gradient_accumulation_steps", "learning_rate", "weight_decay",
    "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "num_train_epochs", "max_steps",
    "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_ratio", "warmup_steps", "logging_dir",
    "logging_strategy", "logging_first_step", "logging_steps", "save_strategy", "save_steps",
    "save_total_limit", "save_only_model", "seed", "data_seed", "bf16", "fp16", "tf32", "eval_steps",
    "dataloader_num_workers", "run_name", "disable_tqdm", "remove_unused_columns", "load_best_model_at_end",
    "metric_for_best_model", "deepspeed", "optim", "report_to", "ddp_timeout", "ddp_find_unused_parameters",
    "gradient_checkpointing", "resume_from_checkpoint", "include_num_input_tokens_seen", "predict_with_generate",
    "save_safetensors", "torch_compile", "neftune_noise_alpha",
})

HPARAM_KEYS = MODEL_ARGS | DATA_ARGS | FINETUNING_ARGS | GENERATING_ARGS | TRAINING_ARGS

# Values a key may take when it is an enum (the rendered value must be one of these).
ENUMS = {
    "stage": STAGES,
    "finetuning_type": FINETUNING_TYPES,
    "pref_loss": PREF_LOSSES,
    "reward_model_type": REWARD_MODEL_TYPES,
    "flash_attn": FLASH_ATTN,
    "quantization_bit": QUANTIZATION_BITS,
    "quantization_method": QUANTIZATION_METHODS,
    "export_device": EXPORT_DEVICES,
    "lr_scheduler_type": LR_SCHEDULERS,
    "optim": OPTIMIZERS,
    "report_to": REPORT_TO,
    "eval_strategy": EVAL_STRATEGIES,
    "template": tuple(sorted(TEMPLATES)),
    "rope_scaling": ROPE_SCALINGS,
    "galore_proj_type": GALORE_PROJ_TYPES,
    "badam_mode": BADAM_MODES,
    "badam_switch_mode": BADAM_SWITCH_MODES,
}

# Keys whose values must be strings even when they look like numbers (the predecessor cast
# pref_loss to float and every KTO job crashed).
STRING_KEYS = frozenset({"pref_loss", "lora_target", "template", "dataset", "eval_dataset", "stage",
                         "finetuning_type", "optim", "lr_scheduler_type", "report_to", "flash_attn",
                         "freeze_trainable_modules", "freeze_extra_modules", "galore_target", "apollo_target",
                         "rope_scaling", "badam_mode", "badam_switch_mode"})

# Keys every training YAML needs, and every export (merge) YAML.
REQUIRED_TRAIN_KEYS = frozenset({
    "model_name_or_path", "stage", "do_train", "finetuning_type", "dataset", "dataset_dir", "cutoff_len",
    "output_dir", "per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate",
    "lr_scheduler_type", "logging_steps", "save_steps", "report_to",
})
REQUIRED_BY_STAGE = {
    "ppo": frozenset({"reward_model", "reward_model_type"}),
    "dpo": frozenset({"pref_beta", "pref_loss"}),
    "kto": frozenset({"pref_beta"}),
}
REQUIRED_EXPORT_KEYS = frozenset({"model_name_or_path", "adapter_name_or_path", "export_dir", "finetuning_type"})
