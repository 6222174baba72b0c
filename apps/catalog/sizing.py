"""Which GPU instances a model fits on, for training by method and for serving.

Rules of thumb (bf16 weights, one instance, memory summed over its GPUs as with DeepSpeed ZeRO-3
or tensor parallelism), in GiB per billion parameters plus a fixed headroom for activations,
CUDA context and KV cache:

| use | bytes per parameter | headroom |
|---|---|---|
| full fine-tuning (weights + grads + AdamW states + fp32 master) | 18 | 8 GiB |
| LoRA (frozen bf16 weights, small adapter) | 2.2 | 4 GiB |
| QLoRA (4-bit weights) | 0.7 | 6 GiB |
| serving (bf16 weights, KV cache) | 2.4 | 4 GiB |

These are estimates for choosing an instance, not guarantees: long contexts and large batches
need more.
"""

from collections.abc import Iterable

from .instances import InstanceType

METHODS = ("lora", "qlora", "full")

_GIB_PER_B = 1e9 / 2**30  # GiB occupied by one byte per parameter of a 1B model

_RULES = {
    "full": (18.0, 8.0),
    "lora": (2.2, 4.0),
    "qlora": (0.7, 6.0),
    "serve": (2.4, 4.0),
}

# Instance families too old for bf16 training/serving with current engines.
_UNSUPPORTED_FAMILIES = ("ml.p2.",)


def memory_needed_gib(parameters_b: float, use: str) -> float:
    """Estimated GPU memory (GiB) for `use` in ("lora", "qlora", "full", "serve")."""
    if use not in _RULES:
        raise ValueError(f"Unknown use {use!r}; expected one of {sorted(_RULES)}.")
    bytes_per_param, headroom = _RULES[use]
    return round(parameters_b * bytes_per_param * _GIB_PER_B + headroom, 1)


def fitting(instances: Iterable[InstanceType], parameters_b: float, use: str) -> list[InstanceType]:
    """Instances with enough GPU memory for `use`, cheapest first (unknown prices last)."""
    needed = memory_needed_gib(parameters_b, use)
    chosen = [
        inst for inst in instances
        if inst.gpu_memory_gib >= needed and not inst.name.startswith(_UNSUPPORTED_FAMILIES)
    ]
    return sorted(chosen, key=lambda i: (i.hourly_usd is None, i.hourly_usd or 0.0, i.gpu_memory_mib, i.name))
