import gc
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadfunnel.settings")

app = Celery("leadfunnel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_before_create_process.connect
def freeze_before_fork(**kwargs: object) -> None:
    """Keep the prefork children sharing the parent's memory.

    A child shares the parent's pages copy-on-write until it writes to them, and a full
    garbage collection writes to the header of every object it visits: one collection in
    a child copied the parent's whole heap (about 60 MB) into it. Frozen objects (the
    app, Django, every imported module) move to a permanent generation no collection
    visits, in the parent and in the children it forks. The parent calls this before each
    fork, children replaced later included.
    """
    gc.freeze()
