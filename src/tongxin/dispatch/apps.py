from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "tongxin.dispatch"
    label = "dispatch"
    verbose_name = _("Requests and dispatch")

    def ready(self) -> None:
        from django.urls import reverse

        from tongxin.core import audit, extensions
        from tongxin.dispatch.api import router
        from tongxin.dispatch.views.today import household_requests_section, household_visits_section
        from tongxin.people.permissions import roles_of, user_can
        from tongxin.people.roles import Role
        from tongxin.people.scope import allows_at, department_ids, speaks_for_household

        def handles(user) -> bool:
            return user_can(user, "request.handle")

        def grid_worker(user) -> bool:  # works in a grid: their day is the grid's requests and visits
            return bool(roles_of(user) & {Role.GRID_WORKER, Role.GRID_LEADER})

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
            (5, "dispatch:today", _("Today"), grid_worker),
            (55, "dispatch:visits", _("Visits"), lambda user: user_can(user, "visit.view")),
        ):
            extensions.add_menu_entry(url_name=url_name, label=label, visible=visible, order=order)

        # Each role lands where its work is (before the network, at order 10).
        extensions.add_start_page(order=3, target=lambda user: reverse("dispatch:queue")
                                  if Role.DISPATCH_OFFICER in roles_of(user) else None)
        extensions.add_start_page(order=4, target=lambda user: reverse("dispatch:inbox")
                                  if department_ids(user) else None)
        extensions.add_start_page(order=5, target=lambda user: reverse("dispatch:today")
                                  if grid_worker(user) else None)

        extensions.add_node_link(label=_("Visits here"), order=35,
                                 url=lambda node: reverse("dispatch:visit_coverage", args=[node.code]),
                                 visible=lambda user: user_can(user, "visit.view"))

        # The household page: record a visit, file a request for it, its requests and visits.
        household_page = "registry:household"
        extensions.add_page_link(
            page=household_page, label=_("Record a visit"), order=10, primary=True,
            url=lambda household: reverse("dispatch:visit_new", args=[household.pk]),
            visible=lambda user, household: household.anonymised_at is None
            and allows_at(user, "visit.record", household.node_path))
        extensions.add_page_link(
            page=household_page, label=_("File a request"), order=20,
            url=lambda household: f"{reverse('dispatch:request_new')}?household={household.pk}",
            visible=lambda user, household: household.anonymised_at is None and (
                allows_at(user, "request.file", household.node_path)
                or (user_can(user, "request.file") and speaks_for_household(user, household.pk))))
        extensions.add_page_section(page=household_page, template="dispatch/_household_requests.html",
                                    context=household_requests_section, order=10)
        extensions.add_page_section(page=household_page, template="dispatch/_household_visits.html",
                                    context=household_visits_section, order=20)

        from tongxin.core import jobs
        from tongxin.dispatch import rights, tasks

        for job in tasks.JOBS:
            jobs.register(job)
        rights.register()
