"""Does a model fit on an instance for serving? Weights plus KV cache against GPU memory.

The engine is given `gpu_memory_utilization` (SGLang: `mem_fraction_static`) of the memory of the
`tensor_parallel_size` GPUs it uses. Out of that budget come:

- **weights**: parameters × bytes per parameter (bf16/fp16 2, fp32 4, fp8/int8 1, 4-bit AWQ/GPTQ/
  bitsandbytes 0.5, plus 5% for the scales and unquantised layers of quantised models);
- **overhead**: 1 GiB per GPU for the CUDA context, activations and CUDA graphs (0.5 GiB with
  enforce-eager);
- **KV cache**: what remains, holding `bytes per token × tokens`.

Bytes per token of KV cache, in the order we can know them:

1. exact: `2 (K and V) × layers × kv_heads × head_dim × 2 bytes` when the model's config gives layers
   and KV heads (head_dim defaults to hidden_size / attention heads);
2. `2 × layers × hidden_size × 2 bytes` when only layers and hidden size are known: full multi-head
   attention, an upper bound for grouped-query models;
3. otherwise `128 KiB × (parameters / 8B) ** 0.42`: a power law through Llama-3 8B (128 KiB) and
   Llama-3 70B (320 KiB). Grouped-query models of 0.5B–400B fall within about ±60% of it; old
   multi-head models (Llama-2) need up to 4× more. The estimate is labelled as such in the result.

Verdicts: **refuse** when the weights do not load or the KV cache cannot hold one sequence of
`max_model_len` tokens (vLLM refuses to start then); **warn** when it holds fewer full-length
sequences than min(max_num_seqs, 8) — requests will queue; **ok** otherwise. All figures are
estimates for choosing an instance before paying for one, not guarantees.
"""

from dataclasses import asdict, dataclass

GIB = 2**30
KIB = 2**10

OK, WARN, REFUSE = "ok", "warn", "refuse"

# Bytes per parameter by dtype and by quantisation method (the quantisation wins when set).
DTYPE_BYTES = {"auto": 2.0, "bfloat16": 2.0, "float16": 2.0, "half": 2.0, "float32": 4.0, "float": 4.0}
QUANTIZATION_BYTES = {"fp8": 1.0, "int8": 1.0, "awq": 0.5, "gptq": 0.5, "bitsandbytes": 0.5}
QUANTIZED_OVERHEAD = 1.05
KV_BYTES_PER_ELEMENT = 2  # fp16/bf16 KV cache, the engines' default
OVERHEAD_GIB_PER_GPU = 1.0
OVERHEAD_GIB_PER_GPU_EAGER = 0.5
HEURISTIC_KV_KIB_AT_8B = 128.0
HEURISTIC_KV_EXPONENT = 0.42
WARN_BELOW_SEQUENCES = 8


@dataclass(frozen=True)
class FitResult:
    verdict: str  # ok | warn | refuse
    message: str
    weights_gib: float
    overhead_gib: float
    budget_gib: float  # GPU memory the engine may use: GPUs used × per-GPU memory × fraction
    kv_room_gib: float  # budget left for the KV cache (negative when the weights do not fit)
    kv_per_token_kib: float
    kv_estimate: str  # exact | full-attention bound | parameter heuristic
    kv_per_sequence_gib: float  # one sequence of max_model_len tokens
    kv_all_sequences_gib: float  # max_num_seqs sequences of max_model_len tokens
    full_length_sequences: int  # how many max_model_len sequences the KV cache holds
    max_model_len: int
    max_num_seqs: int
    gpus_used: int

    @property
    def ok(self) -> bool:
        return self.verdict == OK

    @property
    def refused(self) -> bool:
        return self.verdict == REFUSE

    def as_dict(self) -> dict:
        return asdict(self)


def weight_bytes_per_parameter(dtype: str = "auto", quantization: str = "") -> float:
    if quantization:
        if quantization not in QUANTIZATION_BYTES:
            raise ValueError(f"Unknown quantization {quantization!r}; expected one of {sorted(QUANTIZATION_BYTES)}.")
        return QUANTIZATION_BYTES[quantization] * QUANTIZED_OVERHEAD
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"Unknown dtype {dtype!r}; expected one of {sorted(DTYPE_BYTES)}.")
    return DTYPE_BYTES[dtype]


def kv_bytes_per_token(
    *, parameters_b: float | None, num_layers: int | None = None, hidden_size: int | None = None,
    num_attention_heads: int | None = None, num_kv_heads: int | None = None, head_dim: int | None = None,
) -> tuple[float, str]:
    """(bytes of KV cache per token, which estimate was used)."""
    if num_layers and num_kv_heads and (head_dim or (hidden_size and num_attention_heads)):
        dim = head_dim or hidden_size // num_attention_heads
        return 2.0 * num_layers * num_kv_heads * dim * KV_BYTES_PER_ELEMENT, "exact"
    if num_layers and hidden_size:
        return 2.0 * num_layers * hidden_size * KV_BYTES_PER_ELEMENT, "full-attention bound"
    if not parameters_b or parameters_b <= 0:
        raise ValueError("Need the parameter count or the layer sizes to estimate the KV cache.")
    kib = HEURISTIC_KV_KIB_AT_8B * (parameters_b / 8.0) ** HEURISTIC_KV_EXPONENT
    return kib * KIB, "parameter heuristic"


def check_fit(
    *, parameters_b: float, gpu_count: int, gpu_memory_mib: int, tensor_parallel_size: int | None = None,
    max_model_len: int, max_num_seqs: int, gpu_memory_utilization: float = 0.9, dtype: str = "auto",
    quantization: str = "", enforce_eager: bool = False, num_layers: int | None = None,
    hidden_size: int | None = None, num_attention_heads: int | None = None, num_kv_heads: int | None = None,
    head_dim: int | None = None,
) -> FitResult:
    """Estimate whether one model copy fits on `tensor_parallel_size` GPUs of an instance."""
    if gpu_count <= 0:
        raise ValueError("The instance has no GPUs.")
    gpus = tensor_parallel_size or gpu_count
    per_gpu_gib = gpu_memory_mib / gpu_count / KIB
    budget = gpus * per_gpu_gib * gpu_memory_utilization
    weights = parameters_b * 1e9 * weight_bytes_per_parameter(dtype, quantization) / GIB
    overhead = gpus * (OVERHEAD_GIB_PER_GPU_EAGER if enforce_eager else OVERHEAD_GIB_PER_GPU)
    kv_room = budget - weights - overhead
    per_token, how = kv_bytes_per_token(
        parameters_b=parameters_b, num_layers=num_layers, hidden_size=hidden_size,
        num_attention_heads=num_attention_heads, num_kv_heads=num_kv_heads, head_dim=head_dim,
    )
    per_sequence = per_token * max_model_len / GIB
    sequences = int(kv_room // per_sequence) if kv_room > 0 and per_sequence > 0 else 0

    where = f"{gpus} GPU{'s' if gpus != 1 else ''} × {per_gpu_gib:.0f} GiB × {gpu_memory_utilization:g}"
    if kv_room <= 0:
        verdict = REFUSE
        message = (
            f"The weights ({weights:.1f} GiB) and runtime overhead ({overhead:.1f} GiB) need more than the "
            f"{budget:.1f} GiB available ({where}). Choose a larger instance or a quantized model."
        )
    elif sequences < 1:
        verdict = REFUSE
        message = (
            f"After the weights ({weights:.1f} GiB) only {kv_room:.1f} GiB is left for the KV cache, less than one "
            f"sequence of {max_model_len:,} tokens needs ({per_sequence:.1f} GiB). Lower the max model length "
            f"or choose a larger instance."
        )
    elif sequences < min(max_num_seqs, WARN_BELOW_SEQUENCES):
        verdict = WARN
        message = (
            f"The KV cache ({kv_room:.1f} GiB) holds only {sequences} full-length sequence"
            f"{'s' if sequences != 1 else ''} of {max_model_len:,} tokens; longer requests will queue. "
            f"A shorter max model length or a larger instance serves more at once."
        )
    else:
        verdict = OK
        shown = min(sequences, max_num_seqs)
        message = (
            f"Fits: {weights:.1f} GiB of weights, {kv_room:.1f} GiB of KV cache for about {shown:,} "
            f"concurrent sequences of {max_model_len:,} tokens ({where})."
        )
    return FitResult(
        verdict=verdict, message=message, weights_gib=round(weights, 2), overhead_gib=round(overhead, 2),
        budget_gib=round(budget, 2), kv_room_gib=round(kv_room, 2), kv_per_token_kib=round(per_token / KIB, 1),
        kv_estimate=how, kv_per_sequence_gib=round(per_sequence, 3),
        kv_all_sequences_gib=round(per_sequence * max_num_seqs, 2), full_length_sequences=sequences,
        max_model_len=max_model_len, max_num_seqs=max_num_seqs, gpus_used=gpus,
    )


def check_spec_fit(spec, model, instance) -> FitResult:
    """`check_fit` for a DeploySpec (or anything with its option fields), ModelFacts and InstanceType."""
    return check_fit(
        parameters_b=model.parameters_b, gpu_count=instance.gpu_count, gpu_memory_mib=instance.gpu_memory_mib,
        tensor_parallel_size=spec.tensor_parallel_size, max_model_len=spec.max_model_len,
        max_num_seqs=spec.max_num_seqs, gpu_memory_utilization=spec.gpu_memory_utilization, dtype=spec.dtype,
        quantization=spec.quantization or model.quantization, enforce_eager=spec.enforce_eager,
        num_layers=model.num_layers, hidden_size=model.hidden_size, num_attention_heads=model.num_attention_heads,
        num_kv_heads=model.num_kv_heads, head_dim=model.head_dim,
    )
