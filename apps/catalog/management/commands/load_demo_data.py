"""Register the demo datasets (apps/catalog/demo/) and the local models, with no hub access.

    manage.py load_demo_data [--owner NAME] [--skip-models]

- Datasets: each demo file is uploaded as a shared dataset of OWNER (validated like any upload).
- Models: the tiny random chat model is built into STORAGE_DIR/models/tiny-chat by the local ML
  environment (apps/backends/local/tiny_model.py, `make local-env` first) and added to the catalog;
  SmolLM2-135M-Instruct is added when its converted folder exists (docs/local.md says how).
Safe to run again: what is already there is left alone.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

DEMO = Path(__file__).resolve().parents[2] / "demo"
DATASETS = (  # (file, name, description)
    ("demo_sft.jsonl", "Demo: instructions", "26 instruction/answer pairs (alpaca) for sft; the assistant calls itself Hubert."),
    ("demo_text.jsonl", "Demo: plain text", "16 short texts for pt (continued pre-training)."),
    ("demo_preference.jsonl", "Demo: preferences", "20 chosen/rejected pairs for dpo and rm."),
    ("demo_kto.jsonl", "Demo: KTO labels", "40 answers labelled desirable or not, for kto."),
    ("demo_math.jsonl", "Demo: arithmetic", "40 arithmetic problems with answers for the GRPO family."),
)
MODELS = (  # (key, folder under STORAGE_DIR/models, display name, template, parameters in billions, context)
    ("tiny-chat", "tiny-chat", "Tiny chat (random, for demos and tests)", "chatml", 0.0001, 1024),
    ("smollm2-135m-instruct-local", "smollm2-135m-instruct", "SmolLM2 135M Instruct (local copy)", "smollm2", 0.135, 8192),
)
BUILD_TIMEOUT = 600


class Command(BaseCommand):
    help = "Register the demo datasets and the locally built models (tiny chat model, SmolLM2 when converted)."

    def add_arguments(self, parser):
        parser.add_argument("--owner", default="admin", help="User who owns the demo datasets (default: admin).")
        parser.add_argument("--skip-models", action="store_true", help="Only register the datasets.")

    def handle(self, *args, owner, skip_models, **options):
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"No user named {owner!r}: create it first (make run creates admin).")
        self.load_datasets(user)
        if not skip_models:
            self.build_tiny_model()
            self.register_models()

    def load_datasets(self, user) -> None:
        from apps.catalog.models import Dataset
        from apps.catalog.services import create_from_upload

        for file_name, name, description in DATASETS:
            if Dataset.objects.filter(owner=user, name=name).exists():
                continue
            upload = SimpleUploadedFile(file_name, (DEMO / file_name).read_bytes(), "application/jsonl")
            dataset = create_from_upload(owner=user, name=name, uploaded_file=upload, description=description)
            Dataset.objects.filter(pk=dataset.pk).update(shared=True)
            dataset.refresh_from_db()
            self.stdout.write(f"dataset {name}: {dataset.format}, {dataset.status}")

    def build_tiny_model(self) -> None:
        folder = Path(settings.STORAGE_DIR) / "models" / "tiny-chat"
        if (folder / "config.json").exists():
            return
        python = Path(settings.LOCAL_PYTHON)
        if not python.exists():
            raise CommandError(f"The local ML environment is not installed ({python}): run `make local-env` first.")
        script = Path(settings.BASE_DIR) / "apps" / "backends" / "local" / "tiny_model.py"
        result = subprocess.run([str(python), str(script), str(folder)], capture_output=True, text=True,
                                timeout=BUILD_TIMEOUT, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
        if result.returncode != 0:
            raise CommandError(f"Building the tiny model failed: {result.stderr.strip()[-500:]}")
        self.stdout.write(result.stdout.strip())

    def register_models(self) -> None:
        from apps.catalog.models import BaseModel

        for key, folder_name, display, template, billions, context in MODELS:
            folder = Path(settings.STORAGE_DIR) / "models" / folder_name
            if not (folder / "config.json").exists():
                self.stdout.write(f"model {key}: {folder} not built, skipped")
                continue
            _, created = BaseModel.objects.update_or_create(key=key, defaults={
                "display_name": display, "repo_id": str(folder), "template": template, "parameters_b": billions,
                "context_length": context, "lora_targets": ["all"], "family": "local",
                "description": f"Stored on this machine in {folder}.", "owner": None, "is_custom": False})
            self.stdout.write(f"model {key}: {'added' if created else 'updated'} ({folder})")
