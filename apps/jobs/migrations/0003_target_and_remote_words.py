"""One name for the compute target on jobs and endpoints (`target`), and the remote columns in
target-neutral words: `remote_id` (an ARN, a process id...) and `remote_detail` (a finer status word)."""

from django.db import migrations, models

import apps.jobs.models


class Migration(migrations.Migration):
    dependencies = [("jobs", "0002_dispatch_and_list_indexes")]

    operations = [
        migrations.RenameField("trainingjob", "backend", "target"),
        migrations.AlterField(
            "trainingjob", "target",
            models.CharField(default=apps.jobs.models.default_target, help_text="Compute target (settings.TRAINING_BACKENDS).",
                             max_length=32),
        ),
        migrations.RenameField("trainingjob", "remote_arn", "remote_id"),
        migrations.AlterField(
            "trainingjob", "remote_id",
            models.CharField(blank=True, help_text="The target's id of the run (an ARN, a process id...).", max_length=255),
        ),
        migrations.RenameField("trainingjob", "remote_secondary_status", "remote_detail"),
    ]
