from django.urls import path

from tongxin.core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit_log, name="audit"),
    path("audit/checkpoint/", views.audit_checkpoint, name="audit_checkpoint"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read"),
    path("notifications/<int:notification_id>/", views.notification_open, name="notification"),
]
