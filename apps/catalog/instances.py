"""GPU instance facts: GPU count and memory per SageMaker instance type, and an hourly price estimate.

GPU counts and memory come from the table sagemaker-core ships
(`sagemaker.core.instance_types_gpu_info`), which lacks the newer families; FALLBACK fills those
from AWS's published specifications. Prices are approximate on-demand list prices in us-east-1,
used only for the cost estimate shown before a job starts.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings


@dataclass(frozen=True)
class InstanceType:
    name: str
    gpu_count: int
    gpu_memory_mib: int  # total over all GPUs
    gpu_name: str = ""
    hourly_usd: float | None = None

    @property
    def gpu_memory_gib(self) -> float:
        return self.gpu_memory_mib / 1024

    @property
    def per_gpu_memory_gib(self) -> float:
        return self.gpu_memory_gib / self.gpu_count if self.gpu_count else 0.0

    @property
    def label(self) -> str:
        return f"{self.name} ({self.gpu_count}× {self.gpu_name or 'GPU'}, {self.gpu_memory_gib:.0f} GiB)"


_GIB = 1024

# Types sagemaker-core's table does not know (it lists ml.g5n.xlarge but not ml.g5.xlarge), and the newer
# families: (count, MiB per GPU, GPU name).
_FALLBACK_SPECS = {
    "ml.g5.xlarge": (1, 24 * _GIB, "A10G"),
    "ml.g6.xlarge": (1, 24 * _GIB, "L4"),
    "ml.g6.2xlarge": (1, 24 * _GIB, "L4"),
    "ml.g6.4xlarge": (1, 24 * _GIB, "L4"),
    "ml.g6.8xlarge": (1, 24 * _GIB, "L4"),
    "ml.g6.16xlarge": (1, 24 * _GIB, "L4"),
    "ml.g6.12xlarge": (4, 24 * _GIB, "L4"),
    "ml.g6.24xlarge": (4, 24 * _GIB, "L4"),
    "ml.g6.48xlarge": (8, 24 * _GIB, "L4"),
    "ml.g6e.xlarge": (1, 48 * _GIB, "L40S"),
    "ml.g6e.2xlarge": (1, 48 * _GIB, "L40S"),
    "ml.g6e.4xlarge": (1, 48 * _GIB, "L40S"),
    "ml.g6e.8xlarge": (1, 48 * _GIB, "L40S"),
    "ml.g6e.16xlarge": (1, 48 * _GIB, "L40S"),
    "ml.g6e.12xlarge": (4, 48 * _GIB, "L40S"),
    "ml.g6e.24xlarge": (4, 48 * _GIB, "L40S"),
    "ml.g6e.48xlarge": (8, 48 * _GIB, "L40S"),
    "ml.p5e.48xlarge": (8, 141 * _GIB, "H200"),
    "ml.p5en.48xlarge": (8, 141 * _GIB, "H200"),
    "ml.p6-b200.48xlarge": (8, 179 * _GIB, "B200"),
}

_GPU_NAMES = {"g4dn": "T4", "g5": "A10G", "g5n": "A10G", "p2": "K80", "p3": "V100", "p3dn": "V100",
              "p4d": "A100", "p4de": "A100 80GB", "p5": "H100"}

# Approximate on-demand USD per hour in us-east-1 (training prices; serving is within a few percent).
_HOURLY_USD = {
    "ml.g4dn.xlarge": 0.74, "ml.g4dn.2xlarge": 0.94, "ml.g4dn.4xlarge": 1.51, "ml.g4dn.8xlarge": 2.72,
    "ml.g4dn.12xlarge": 4.89, "ml.g4dn.16xlarge": 5.44,
    "ml.g5.xlarge": 1.41, "ml.g5.2xlarge": 1.52, "ml.g5.4xlarge": 2.03, "ml.g5.8xlarge": 3.06,
    "ml.g5.12xlarge": 7.09, "ml.g5.16xlarge": 4.10, "ml.g5.24xlarge": 10.18, "ml.g5.48xlarge": 20.36,
    "ml.g6.xlarge": 1.01, "ml.g6.2xlarge": 1.22, "ml.g6.4xlarge": 1.62, "ml.g6.8xlarge": 2.45,
    "ml.g6.12xlarge": 5.75, "ml.g6.16xlarge": 4.08, "ml.g6.24xlarge": 8.34, "ml.g6.48xlarge": 16.68,
    "ml.g6e.xlarge": 2.34, "ml.g6e.2xlarge": 2.84, "ml.g6e.4xlarge": 3.83, "ml.g6e.8xlarge": 5.83,
    "ml.g6e.12xlarge": 13.12, "ml.g6e.16xlarge": 9.84, "ml.g6e.24xlarge": 16.81, "ml.g6e.48xlarge": 37.64,
    "ml.p3.2xlarge": 3.83, "ml.p3.8xlarge": 14.69, "ml.p3.16xlarge": 28.15, "ml.p3dn.24xlarge": 35.89,
    "ml.p4d.24xlarge": 37.69, "ml.p4de.24xlarge": 47.11, "ml.p5.48xlarge": 113.07,
    "ml.p5e.48xlarge": 124.0, "ml.p5en.48xlarge": 128.0, "ml.p6-b200.48xlarge": 160.0,
}


def _family(name: str) -> str:
    return name.removeprefix("ml.").split(".", 1)[0]


@cache
def instance_types(region: str | None = None) -> dict[str, InstanceType]:
    """Every GPU instance type ModelHub knows, by name, for a region."""
    from sagemaker.core import instance_types_gpu_info  # ~2 s import: only when first needed

    table: dict[str, InstanceType] = {}
    for name, info in instance_types_gpu_info.retrieve(region or settings.AWS_REGION).items():
        table[name] = InstanceType(
            name, int(info["Count"]), int(info["TotalGpuMemoryInMiB"]), _GPU_NAMES.get(_family(name), ""),
            _HOURLY_USD.get(name),
        )
    for name, (count, per_gpu, gpu) in _FALLBACK_SPECS.items():
        table.setdefault(name, InstanceType(name, count, count * per_gpu, gpu, _HOURLY_USD.get(name)))
    return dict(sorted(table.items(), key=lambda item: (_family(item[0]), item[1].gpu_memory_mib, item[0])))


def get(name: str, region: str | None = None) -> InstanceType | None:
    return instance_types(region).get(name)


def estimated_cost_usd(name: str, instance_count: int, hours: float) -> float | None:
    """List-price estimate for `hours` of `instance_count` instances; None when the price is unknown."""
    instance = get(name)
    if instance is None or instance.hourly_usd is None:
        return None
    return round(instance.hourly_usd * instance_count * hours, 2)
