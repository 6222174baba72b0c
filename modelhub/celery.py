import os

from celery import Celery
from kombu.transport import sqlalchemy as kombu_sqlalchemy

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelhub.settings")

# The SQLAlchemy transport forwards every transport option to create_engine(), so its polling
# interval can only be set on the class. 50 ms keeps embedded dispatch around 60 ms.
kombu_sqlalchemy.Transport.polling_interval = 0.05

app = Celery("modelhub")
app.config_from_object("celeryconfig")
app.autodiscover_tasks()
