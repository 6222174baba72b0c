"""Settings for the test suite: the real settings, with static files served from the source folders
so that no `collectstatic` is needed. Processes started by tests inherit DJANGO_SETTINGS_MODULE."""

import json
import os

from .settings import *  # noqa: F403
from .settings import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Serving backends that a test adds for the processes it starts (JSON: target -> class path), e.g.
# chat stand-ins for targets that have no backend here; a backend of the real settings wins.
SERVING_BACKENDS = {**json.loads(os.environ.get("MODELHUB_TEST_SERVING_BACKENDS", "{}")), **SERVING_BACKENDS}  # noqa: F405
# The same for training targets (e.g. the shared-file target of the fault tests, tests/reliability).
TRAINING_BACKENDS = {**json.loads(os.environ.get("MODELHUB_TEST_TRAINING_BACKENDS", "{}")), **TRAINING_BACKENDS}  # noqa: F405

# The suite was written against SageMaker as the target of requests that name none; tests of the
# automatic choice (and the processes of the local end-to-end tests) set COMPUTE_BACKEND themselves.
COMPUTE_BACKEND = os.environ.get("COMPUTE_BACKEND", "sagemaker")

# Quotas are off for the suite (many tests create more jobs than a user may run at once); the quota tests
# (tests/jobs/test_quotas_enforced.py, tests/core/test_quotas.py) set the limits they check.
QUOTA_CONCURRENT_JOBS = QUOTA_ENDPOINTS = QUOTA_INSTANCES = 0
