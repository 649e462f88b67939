from django.urls import path

from tongxin.people import views

app_name = "people"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/export.xlsx", views.staff_export, name="staff_export"),
    path("account/", views.account, name="account"),
    path("account/password/", views.password_change, name="password_change"),
    path("account/sessions/end/", views.session_end, name="session_end"),
    path("account/tokens/revoke/", views.token_revoke, name="token_revoke"),
    path("accounts/", views.accounts, name="accounts"),
    path("accounts/new/", views.account_new, name="account_new"),
    path("accounts/<uuid:user_id>/", views.account_detail, name="account_detail"),
    path("accounts/<uuid:user_id>/password-reset/", views.account_password_reset, name="account_password_reset"),
    path("accounts/<uuid:user_id>/second-factor-reset/", views.account_second_factor_reset,
         name="account_second_factor_reset"),
    path("accounts/<uuid:user_id>/deactivate/", views.account_deactivate, name="account_deactivate"),
    path("accounts/<uuid:user_id>/reactivate/", views.account_reactivate, name="account_reactivate"),
    path("role-assignments/new/", views.role_grant, name="role_grant"),
    path("role-assignments/<uuid:assignment_id>/revoke/", views.role_revoke, name="role_revoke"),
]
