from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "tongxin.dispatch"
    label = "dispatch"
    verbose_name = _("Requests and dispatch")

    def ready(self) -> None:
        from tongxin.core import jobs
        from tongxin.dispatch import tasks

        for job in tasks.JOBS:
            jobs.register(job)
