from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridConfig(AppConfig):
    name = "tongxin.grid"
    label = "grid"
    verbose_name = _("Network")

    def ready(self) -> None:
        from django.urls import reverse

        from tongxin.core import audit, extensions
        from tongxin.core.access import user_can
        from tongxin.grid.api import router

        extensions.add_router(router, order=20)
        audit.add_action_labels({
            "node.create": _("Created a place in the network"),
            "node.update": _("Changed a place in the network"),
            "node.move": _("Moved a place in the network"),
            "department.create": _("Created a department"),
        })
        extensions.add_menu_entry(url_name="grid:top", label=_("Network"), order=10,
                                  visible=lambda user: user_can(user, "node.view"))
        extensions.add_start_page(order=10, target=lambda user: reverse("grid:top")
                                  if user_can(user, "node.view") else None)
