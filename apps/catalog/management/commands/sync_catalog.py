from django.core.management.base import BaseCommand

from apps.catalog import curation


class Command(BaseCommand):
    help = "Load curated base models and built-in datasets from apps/catalog/data/ (runs after every migrate)."

    def add_arguments(self, parser):
        parser.add_argument("--update", action="store_true", help="Overwrite curated models with the data file.")

    def handle(self, *args, update=False, **options):
        counts = curation.sync(update=update)
        self.stdout.write(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()))
