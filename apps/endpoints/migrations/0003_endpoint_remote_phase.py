from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("endpoints", "0002_protect_owner")]

    operations = [
        migrations.AddField(
            model_name="endpoint",
            name="remote_phase",
            field=models.CharField(blank=True, max_length=16),
        ),
    ]
