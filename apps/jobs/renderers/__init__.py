"""Pure renderers: TrainingSpec (+ a JobContext of container paths) -> the files a training run needs.

Nothing here does I/O; every output is golden-file tested (tests/jobs/golden/).
"""
