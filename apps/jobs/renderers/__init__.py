"""Pure renderers: TrainingSpec (+ a context of datasets and container paths) -> the files a run needs.

Nothing here does I/O; every output is golden-file tested (tests/jobs/golden/).

Public interface:
    render_job_bundle(spec, context) -> {filename: text}
    metric_definitions(job_type) -> [{"Name", "Regex"}]
    parse_trainer_log(text) -> [point]; progress(points) -> latest progress
    trainer_log_key(spec), secret_env_name(spec), secret_refs(spec) -> {env var: stored secret name}
"""

from .bundle import render_job_bundle, secret_env_name, secret_refs, trainer_log_key
from .metrics import metric_definitions, parse_trainer_log, progress

__all__ = ["metric_definitions", "parse_trainer_log", "progress", "render_job_bundle", "secret_env_name",
           "secret_refs", "trainer_log_key"]
