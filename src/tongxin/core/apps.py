import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "tongxin.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.urls import reverse

        from tongxin.core import audit, extensions, i18n, idempotency, jobs
        from tongxin.core.access import user_can
        from tongxin.core.routes import router

        i18n.ensure_compiled()
        # The sequencer chains what the commit-time run left (a burst's last entries, a crash).
        jobs.register(jobs.Job(name="audit.seal", every=dt.timedelta(minutes=1),
                               run=lambda now: f"{audit.seal()} audit entries chained"))
        audit.add_action_labels({
            "calendar.set_year": _("Entered the official calendar of a year"),
            "audit.checkpoint": _("Took an audit checkpoint"),
            "list.export": _("Exported a list to Excel"),
        })
        extensions.add_router(router, order=90)
        extensions.add_menu_entry(url_name="core:audit", label=_("Audit log"), order=40,
                                  visible=lambda user: user_can(user, "audit.view"))
        jobs.register(jobs.Job("core.idempotency_purge", dt.timedelta(hours=1), idempotency.purge))
        extensions.add_start_page(order=20, target=lambda user: reverse("core:audit")
                                  if user_can(user, "audit.view") else None)
