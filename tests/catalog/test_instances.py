from apps.catalog import instances


def test_table_merges_sagemaker_core_with_the_fallback_families():
    table = instances.instance_types("us-east-1")
    assert table["ml.g5.12xlarge"].gpu_count == 4 and table["ml.g5.12xlarge"].gpu_memory_mib == 98304  # sagemaker-core
    assert table["ml.g5.xlarge"].gpu_count == 1 and table["ml.g5.xlarge"].per_gpu_memory_gib == 24  # missing upstream
    assert table["ml.g6e.48xlarge"].gpu_count == 8 and table["ml.g6e.48xlarge"].gpu_name == "L40S"
    assert table["ml.p5.48xlarge"].gpu_name == "H100"


def test_cost_estimate_uses_count_and_hours():
    hourly = instances.get("ml.g5.2xlarge").hourly_usd
    assert instances.estimated_cost_usd("ml.g5.2xlarge", 2, 3) == round(hourly * 6, 2)
    assert instances.estimated_cost_usd("ml.unknown.xlarge", 1, 1) is None
