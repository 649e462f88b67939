from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "tongxin.dispatch"
    label = "dispatch"
    verbose_name = _("Requests and dispatch")

    def ready(self) -> None:
        from tongxin.core import audit, extensions
        from tongxin.dispatch.api import router
        from tongxin.people.permissions import roles_of, user_can
        from tongxin.people.roles import Role
        from tongxin.people.scope import department_ids

        def handles(user) -> bool:
            return user_can(user, "request.handle")

        def queue(user) -> bool:  # the dispatch queue and map: who handles requests, or reads their figures
            return handles(user) or user_can(user, "dispatch.stats")

        extensions.add_router(router, order=40)
        audit.add_action_labels({  # the request's own steps are named by its workflow
            "visit_round.plan": _("Planned a round of visits"),
            "visit.record": _("Recorded a visit"),
            "request.search": _("Searched for requests"),
            "request.household_contact": _("Viewed the household's address and phone on a request"),
        })
        for order, url_name, label, visible in (
            (50, "dispatch:queue", _("Requests"), queue),
            (51, "dispatch:map", _("Map"), queue),
            # The grid's workers close the loop at the doorstep: the resident confirms and rates.
            (52, "dispatch:to_confirm", _("To confirm and rate"),
             lambda user: bool(roles_of(user) & {Role.GRID_WORKER, Role.GRID_LEADER})),
            (60, "dispatch:inbox", _("Inbox"), lambda user: bool(department_ids(user))),
            (70, "dispatch:stats", _("Statistics"), lambda user: user_can(user, "dispatch.stats")),
            (80, "dispatch:my_requests", _("My requests"),
             lambda user: user_can(user, "request.file") and not handles(user)),
        ):
            extensions.add_menu_entry(url_name=url_name, label=label, visible=visible, order=order)

        from tongxin.core import jobs
        from tongxin.dispatch import rights, tasks

        for job in tasks.JOBS:
            jobs.register(job)
        rights.register()
