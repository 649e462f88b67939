from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "tongxin.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from tongxin.core import i18n

        i18n.ensure_compiled()
