from django.db import migrations


def sync_admin_flags(apps, schema_editor):
    """Members of the `admin` group, added before the group alone made admins, get staff and superuser status."""
    User = apps.get_model("users", "User")
    User.objects.filter(groups__name="admin").update(is_staff=True, is_superuser=True)


class Migration(migrations.Migration):
    dependencies = [("users", "0004_share")]

    operations = [migrations.RunPython(sync_admin_flags, migrations.RunPython.noop)]
