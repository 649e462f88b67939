from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

UNIT_HOUSEHOLDS_SHOWN = 50


class RegistryConfig(AppConfig):
    name = "tongxin.registry"
    label = "registry"
    verbose_name = _("Registry")

    def ready(self) -> None:
        from django.urls import reverse

        from tongxin.core import audit, extensions
        from tongxin.core.access import user_can
        from tongxin.grid.models import Level
        from tongxin.registry.api import router
        from tongxin.registry.models import Household, Resident
        from tongxin.registry.selectors import household_list, list_shown
        from tongxin.registry.tables import HOUSEHOLDS

        def own_household(user):
            if user.household_id and user_can(user, "household.view"):
                return reverse("registry:household", kwargs={"household_id": user.household_id})
            return None

        def unit_households(request, node):
            if node.level != Level.UNIT or not user_can(request.user, "household.view"):
                return None
            households = list(household_list(actor=request.user, node=node)[:UNIT_HOUSEHOLDS_SHOWN])
            list_shown(actor=request.user, model=Household, rows=households)  # heads' names: audited
            return {"households": households, "table": HOUSEHOLDS}

        extensions.add_router(router, order=30)
        audit.add_action_labels({
            "household.create": _("Registered a household"),
            "household.update": _("Changed a household"),
            "resident.create": _("Registered a resident"),
            "resident.update": _("Changed a resident"),
            "resident.view": _("Viewed a resident's personal data"),
            "user.household_link": _("Linked an account to a household"),
            "user.household_unlink": _("Unlinked an account from a household"),
        })
        extensions.add_menu_entry(url_name="registry:household_list", label=_("Households"), order=20,
                                  visible=lambda user: user_can(user, "household.view"))
        extensions.add_start_page(order=30, target=own_household)
        extensions.add_rollup_figure(name="households", label=_("Households"), order=10,
                                     rows=lambda: Household.objects.all())
        extensions.add_rollup_figure(name="residents", label=_("Residents"), order=20,
                                     rows=lambda: Resident.objects.all())
        extensions.add_node_link(label=_("Households here"), order=10,
                                 url=lambda node: f"{reverse('registry:household_list')}?node={node.code}",
                                 visible=lambda user: user_can(user, "household.view"))
        extensions.add_node_section(template="registry/_unit_households.html", context=unit_households, order=10)
