from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "tongxin.people"
    label = "people"
    verbose_name = _("People")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save
        from django.urls import reverse

        from tongxin.core import access, audit, extensions
        from tongxin.grid.signals import subtree_moved
        from tongxin.people import home, permissions, scope, services
        from tongxin.people.api import router
        from tongxin.people.models import RoleAssignment
        from tongxin.people.roles import Role

        # The scope function decides for the kernel and every app (DESIGN.md principle 2).
        access.provide(access.ScopeFunction(restrict=scope.restrict, user_can=permissions.user_can,
                                            scope_roots=scope.scope_roots, allows_at=scope.allows_at))
        extensions.set_token_resolver(services.token_user)
        # Every change of role assignments gives the account a new roles stamp (scope.assignments).
        post_save.connect(_assignment_changed, sender=RoleAssignment, dispatch_uid="people-roles-saved")
        post_delete.connect(_assignment_changed, sender=RoleAssignment, dispatch_uid="people-roles-deleted")
        subtree_moved.connect(_subtree_moved, dispatch_uid="people-roles-moved")
        # Logins, tokens and accounts belong to the account's county in the audit log.
        audit.set_place_resolver(home.audit_place)
        audit.add_action_labels({
            "user.create": _("Created an account"),
            "user.login": _("Logged in"),
            "user.login_failed": _("Failed to log in"),
            "user.totp_setup": _("Set up a second factor"),
            "user.totp_confirm": _("Confirmed a second factor"),
            "token.issue": _("Issued an API token"),
            "role.grant": _("Granted a role"),
            "role.revoke": _("Revoked a role"),
        })
        extensions.add_router(router, order=10)
        extensions.add_menu_entry(url_name="people:staff", label=_("Staff"), order=30,
                                  visible=lambda user: permissions.user_can(user, "staff.view"))
        extensions.add_menu_entry(url_name="people:accounts", label=_("Accounts"), order=32,
                                  visible=lambda user: any(permissions.user_can(user, action) for action in (
                                      "user.manage", "user.secure", "role.grant")))
        extensions.add_menu_entry(url_name="people:account", label=_("My account"), order=90,
                                  visible=lambda user: True)
        extensions.add_rollup_figure(name="grid_workers", label=_("Grid workers"), order=30,
                                     rows=lambda: RoleAssignment.objects.filter(role=Role.GRID_WORKER))
        extensions.add_node_link(label=_("Staff here"), order=20,
                                 url=lambda node: f"{reverse('people:staff')}?node={node.code}",
                                 visible=lambda user: permissions.user_can(user, "staff.view"))


def _assignment_changed(sender, instance, **kwargs) -> None:
    from tongxin.people import scope

    stamp = scope.roles_changed([instance.user_id])
    user = instance._state.fields_cache.get("user")  # the account object the caller holds, if any
    if user is not None:
        user.roles_stamp = stamp
        user.__dict__.pop("_tongxin_assignments", None)


def _subtree_moved(sender, old: str, new: str, **kwargs) -> None:
    from tongxin.people import scope
    from tongxin.people.models import RoleAssignment

    scope.roles_changed(RoleAssignment.objects.filter(node_path__startswith=new).values_list("user_id", flat=True))
