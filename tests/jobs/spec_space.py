"""The space of training specs ModelHub accepts, as hypothesis strategies (for the property tests and the
real-parser test). Each draw is a request body; the serializer may still refuse a combination, and the
tests count how many it accepts so the space stays meaningful."""

from hypothesis import strategies as st

from apps.jobs.renderers import llamafactory_schema as lf
from apps.jobs.spec import BOOSTERS, DPO_LOSSES, PRECISIONS, TRACKERS
from apps.jobs.spec.fields import EASYR1_LOSS_TYPES, KL_PENALTIES, R1

LF_TYPES = ("sft", "pt", "ppo", "dpo", "kto", "rm")
R1_TYPES = tuple(sorted(R1))
LF_INSTANCES = ("ml.g5.2xlarge", "ml.g5.12xlarge", "ml.g6e.xlarge", "ml.p4d.24xlarge", "ml.g4dn.xlarge")
R1_INSTANCES = ("ml.g6e.12xlarge", "ml.g5.12xlarge", "ml.p4d.24xlarge")
TARGETS = ("all", "q_proj,v_proj", "q_proj,k_proj,v_proj,o_proj")
GOOD_REWARD = ('REWARD_TYPE = "batch"\n\ndef compute_score(reward_inputs, format_weight=0.1):\n'
               '    return [{"overall": 1.0} for _ in reward_inputs]\n')


def pow2(lo, hi):
    return st.sampled_from([2 ** i for i in range(lo, hi + 1)])


@st.composite
def method(draw, job_type):
    chosen = draw(st.sampled_from(("lora", "full") if job_type in R1 else ("lora", "qlora", "freeze", "full")))
    data = {"finetuning_method": chosen}
    if chosen != "full":
        data.update(lora_rank=draw(pow2(2, 7)), lora_alpha=draw(st.none() | pow2(3, 8)),
                    lora_target=draw(st.sampled_from(TARGETS)))
    if chosen == "qlora":
        data["quantization_bit"] = draw(st.sampled_from(lf.QUANTIZATION_BITS))
    if job_type in R1:
        return data
    if chosen in ("lora", "qlora"):  # issue #16's LoRA variants; the spec refuses what LLaMA-Factory does
        data.update(use_dora=draw(st.booleans()), use_rslora=draw(st.booleans()),
                    pissa_init=draw(st.sampled_from([False, False, True])),
                    loraplus_lr_ratio=draw(st.sampled_from([None, None, 4.0, 16.0])))
        if data["pissa_init"]:
            data["pissa_iter"] = draw(st.sampled_from([-1, 4, 16]))
    if chosen == "freeze":
        data.update(freeze_trainable_layers=draw(st.sampled_from([-2, 1, 2, 8])),
                    freeze_trainable_modules=draw(st.sampled_from(["all", "mlp", "mlp,self_attn"])),
                    freeze_extra_modules=draw(st.sampled_from([None, "embed_tokens", "embed_tokens,lm_head"])))
    optimizer = draw(st.sampled_from([None, None, None, "use_galore", "use_apollo", "use_badam"]))
    if optimizer:  # drawn for every method: LoRA with any of them must be refused
        data[optimizer] = True
        prefix = optimizer.removeprefix("use_")
        if optimizer == "use_badam":
            data.update(badam_switch_mode=draw(st.sampled_from(lf.BADAM_SWITCH_MODES)),
                        badam_switch_interval=draw(st.sampled_from([-1, 50, 200])))
        else:
            data.update({f"{prefix}_rank": draw(pow2(3, 8)), f"{prefix}_update_interval": draw(st.integers(1, 500)),
                         f"{prefix}_target": draw(st.sampled_from(["all", "q_proj,v_proj"]))})
    return data


@st.composite
def llamafactory_options(draw):
    """NEFTune, packing and RoPE scaling (issue #16)."""
    return {"neftune_noise_alpha": draw(st.sampled_from([None, None, 5.0, 10.0])),
            "packing": draw(st.booleans()),
            "rope_scaling": draw(st.sampled_from([None, None, *lf.ROPE_SCALINGS]))}


@st.composite
def tracking(draw):
    tracker = draw(st.sampled_from(TRACKERS))
    data = {"tracker": tracker}
    if tracker in ("wandb", "swanlab"):
        data.update(tracker_key_ref=f"{tracker}-key", tracker_project=draw(st.sampled_from(["p1", "chat-tuning"])))
    return data


@st.composite
def llamafactory_spec(draw):
    job_type = draw(st.sampled_from(LF_TYPES))
    data = {"job_type": job_type, **draw(method(job_type)), **draw(tracking()), **draw(llamafactory_options())}
    instance = draw(st.sampled_from(LF_INSTANCES))
    data.update(
        instance_type=instance,
        precision="fp16" if instance == "ml.g4dn.xlarge" else draw(st.sampled_from(PRECISIONS)),
        booster="none" if instance == "ml.g4dn.xlarge" else draw(st.sampled_from(BOOSTERS)),
        cutoff_len=draw(st.sampled_from([256, 1024, 2048, 8192])),
        per_device_train_batch_size=draw(pow2(0, 3)), gradient_accumulation_steps=draw(pow2(0, 4)),
        learning_rate=draw(st.sampled_from([1e-6, 5e-6, 1e-5, 1e-4, 3e-4])),
        num_train_epochs=draw(st.sampled_from([0.5, 1.0, 3.0])), max_steps=draw(st.none() | st.integers(1, 5000)),
        warmup_ratio=draw(st.sampled_from([0.0, 0.03, 0.1])),
        lr_scheduler_type=draw(st.sampled_from(lf.LR_SCHEDULERS)), optimizer=draw(st.sampled_from(lf.OPTIMIZERS)),
        weight_decay=draw(st.sampled_from([0.0, 0.01])), max_grad_norm=draw(st.sampled_from([0.5, 1.0])),
        logging_steps=draw(st.integers(1, 50)), save_steps=draw(st.integers(10, 1000)),
        save_total_limit=draw(st.none() | st.integers(1, 5)),
        max_samples=draw(st.none() | st.integers(1, 100000)),
    )
    if job_type != "ppo":
        val = draw(st.sampled_from([0.0, 0.0, 0.05]))
        data.update(val_size=val, **({"eval_steps": draw(st.integers(10, 500))} if val else {}))
    stage = draw(st.sampled_from([None, None, 0, 2, 3]))
    if stage is not None:
        data["deepspeed_stage"] = stage
        data["offload"] = stage in (2, 3) and draw(st.booleans())
    if job_type == "dpo":
        data.update(pref_loss=draw(st.sampled_from(DPO_LOSSES)), pref_beta=draw(st.sampled_from([0.05, 0.1, 0.5])),
                    pref_ftx=draw(st.sampled_from([0.0, 0.5])))
    if job_type == "kto":
        data.update(pref_beta=draw(st.sampled_from([0.1, 0.3])), kto_chosen_weight=1.0,
                    kto_rejected_weight=draw(st.sampled_from([1.0, 1.5])))
    if job_type == "ppo":
        full = data["finetuning_method"] == "full"
        data.update(reward_model=draw(st.sampled_from(["s3://bk1/jobs/rm-1/model/", "my-org/my-reward-model"])),
                    reward_model_type="full" if full else draw(st.sampled_from(["lora", "full"])),
                    ppo_epochs=draw(st.integers(1, 8)), ppo_max_new_tokens=draw(st.sampled_from([128, 512])))
        if data["tracker"] == "swanlab":
            data.update(tracker="tensorboard", tracker_key_ref=None)
    return data


@st.composite
def easyr1_spec(draw):
    job_type = draw(st.sampled_from(R1_TYPES))
    data = {"job_type": job_type, **draw(method(job_type)), **draw(tracking())}
    instance = draw(st.sampled_from(R1_INSTANCES))
    gpus = {"ml.g6e.12xlarge": 4, "ml.g5.12xlarge": 4, "ml.p4d.24xlarge": 8}[instance]
    count = draw(st.sampled_from([1, 1, 2]))
    global_bs = draw(pow2(4, 7))
    n = draw(st.sampled_from([1, 2, 4, 5, 8, 16]))  # 1 and the odd sizes below: the spec must refuse what EasyR1 does
    per_gpu = global_bs * n // (gpus * count)
    fitting = [d for d in (1, 2, 4, 8) if per_gpu and per_gpu % d == 0] or [1]
    update = draw(st.sampled_from(fitting) | st.sampled_from([3, 16]))
    rollout = global_bs * draw(st.sampled_from([1, 2, 4]))
    reward = draw(st.sampled_from(["math", "r1v", "dapo", "custom"]))
    data.update(
        instance_type=instance, instance_count=count, global_batch_size=global_bs, rollout_n=n,
        rollout_batch_size=rollout, micro_batch_size_per_device_for_update=update,
        micro_batch_size_per_device_for_experience=draw(st.sampled_from([1, 2, 3, 4])),
        mini_rollout_batch_size=draw(st.sampled_from([None, global_bs])),
        max_prompt_length=draw(st.sampled_from([512, 2048])), max_response_length=draw(st.sampled_from([512, 4096])),
        rollout_temperature=draw(st.sampled_from([0.7, 1.0])), val_temperature=draw(st.sampled_from([0.0, 0.6])),
        rollout_tensor_parallel_size=draw(st.sampled_from([d for d in (1, 2, 4) if gpus % d == 0])),
        clip_ratio_low=draw(st.sampled_from([0.0, 3e-4, 0.2, 0.5, 1.0])), clip_ratio_high=draw(st.sampled_from([4e-4, 0.28, 4.0])),
        clip_ratio_dual=draw(st.sampled_from([3.0, 10.0])), loss_type=draw(st.sampled_from(EASYR1_LOSS_TYPES)),
        loss_avg_mode=draw(st.sampled_from(["token", "seq"])), disable_kl=draw(st.booleans()),
        kl_coef=draw(st.sampled_from([0.0, 1e-2])), kl_penalty=draw(st.sampled_from(KL_PENALTIES)),
        online_filtering=draw(st.booleans()), reward_function=reward,
        format_prompt=draw(st.sampled_from(["none", "math", "r1v", "dapo"])),
        learning_rate=draw(st.sampled_from([1e-6, 1e-5])), num_train_epochs=float(draw(st.integers(1, 3))),
        max_steps=draw(st.none() | st.integers(1, 500)), save_steps=draw(st.integers(5, 100)),
        eval_steps=draw(st.none() | st.integers(5, 100)), save_total_limit=draw(st.none() | st.integers(1, 5)),
        offload=draw(st.booleans()), max_grad_norm=draw(st.sampled_from([0.5, 1.0])),
    )
    if reward == "custom":
        data["reward_code"] = GOOD_REWARD
    return data


def any_spec():
    return llamafactory_spec() | easyr1_spec()
