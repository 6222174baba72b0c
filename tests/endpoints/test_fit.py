import pytest

from apps.endpoints import fit

A10G = {"gpu_count": 1, "gpu_memory_mib": 24 * 1024}  # ml.g5.2xlarge
FOUR_A10G = {"gpu_count": 4, "gpu_memory_mib": 4 * 24 * 1024}  # ml.g5.12xlarge
EIGHT_H100 = {"gpu_count": 8, "gpu_memory_mib": 8 * 80 * 1024}  # ml.p5.48xlarge
LLAMA_8B_LAYERS = {"num_layers": 32, "hidden_size": 4096, "num_attention_heads": 32, "num_kv_heads": 8}


def test_exact_kv_per_token_for_grouped_query_attention():
    per_token, how = fit.kv_bytes_per_token(parameters_b=8.0, **LLAMA_8B_LAYERS)
    assert how == "exact"
    assert per_token == 2 * 32 * 8 * 128 * 2 == 128 * 1024  # 128 KiB per token for Llama-3 8B


def test_full_attention_bound_and_heuristic():
    per_token, how = fit.kv_bytes_per_token(parameters_b=7.0, num_layers=32, hidden_size=4096)
    assert how == "full-attention bound" and per_token == 512 * 1024  # Llama-2 7B
    per_token, how = fit.kv_bytes_per_token(parameters_b=8.0)
    assert how == "parameter heuristic" and per_token == 128 * 1024  # the curve passes through Llama-3 8B
    seventy, _ = fit.kv_bytes_per_token(parameters_b=70.0)
    assert 300 * 1024 < seventy < 340 * 1024  # and near Llama-3 70B's 320 KiB
    with pytest.raises(ValueError):
        fit.kv_bytes_per_token(parameters_b=None)


def test_weight_bytes_by_dtype_and_quantization():
    assert fit.weight_bytes_per_parameter("bfloat16") == 2
    assert fit.weight_bytes_per_parameter("float32") == 4
    assert fit.weight_bytes_per_parameter("auto", "awq") == pytest.approx(0.525)
    assert fit.weight_bytes_per_parameter("auto", "fp8") == pytest.approx(1.05)
    with pytest.raises(ValueError):
        fit.weight_bytes_per_parameter("int3")


def check(**overrides):
    values = {"parameters_b": 8.0, "max_model_len": 8192, "max_num_seqs": 64, **A10G, **LLAMA_8B_LAYERS}
    return fit.check_fit(**{**values, **overrides})


def test_ok_on_four_gpus_with_numbers():
    result = check(**FOUR_A10G)
    assert result.verdict == fit.OK
    assert result.gpus_used == 4
    assert result.weights_gib == pytest.approx(8e9 * 2 / 2**30, abs=0.01)
    assert result.budget_gib == pytest.approx(4 * 24 * 0.9)
    assert result.kv_per_sequence_gib == pytest.approx(8192 * 128 / 2**20, abs=0.001)  # 1 GiB
    assert result.full_length_sequences == int(result.kv_room_gib // result.kv_per_sequence_gib)
    assert "Fits" in result.message


def test_warn_when_few_full_length_sequences_fit():
    result = check()  # 8B on one 24 GiB A10G, 8k context
    assert result.verdict == fit.WARN
    assert 1 <= result.full_length_sequences < 8
    assert f"{result.full_length_sequences} full-length" in result.message


def test_refuse_when_weights_do_not_load():
    result = check(parameters_b=70.0, num_layers=80, num_kv_heads=8)
    assert result.verdict == fit.REFUSE and result.kv_room_gib < 0
    assert "larger instance" in result.message


def test_refuse_when_one_sequence_does_not_fit_and_shorter_length_fixes_it():
    assert check(max_model_len=131072).verdict == fit.REFUSE
    assert check(max_model_len=131072).kv_room_gib > 0
    assert check(max_model_len=2048, max_num_seqs=4).verdict == fit.OK


def test_quantization_and_memory_fraction_change_the_verdict():
    big = {"parameters_b": 70.0, "num_layers": 80, "num_kv_heads": 8, **FOUR_A10G}
    assert check(**big).verdict == fit.REFUSE  # 130 GiB of bf16 weights on 96 GiB
    assert check(**big, quantization="awq").verdict != fit.REFUSE  # ~34 GiB in 4 bits
    assert check(gpu_memory_utilization=0.6).verdict == fit.REFUSE


def test_tensor_parallel_below_gpu_count_uses_fewer_gpus():
    result = check(parameters_b=70.0, num_layers=80, num_kv_heads=8, tensor_parallel_size=2, **EIGHT_H100)
    assert result.gpus_used == 2
    assert result.budget_gib == pytest.approx(2 * 80 * 0.9)


def test_enforce_eager_lowers_overhead():
    assert check(enforce_eager=True).overhead_gib < check().overhead_gib


def test_as_dict_for_the_form():
    data = check().as_dict()
    assert data["verdict"] == "warn" and "kv_per_token_kib" in data and data["kv_estimate"] == "exact"
