from django.urls import path

from tongxin.dispatch import views

app_name = "dispatch"
urlpatterns = [
    path("dispatch/", views.queue, name="queue"),
    path("dispatch/export.xlsx", views.queue_export, name="queue_export"),
    path("dispatch/map/", views.request_map, name="map"),
    path("dispatch/inbox/", views.inbox, name="inbox"),
    path("dispatch/inbox/export.xlsx", views.inbox_export, name="inbox_export"),
    path("dispatch/stats/", views.stats, name="stats"),
    path("dispatch/stats/export.xlsx", views.stats_export, name="stats_export"),
    path("dispatch/visits/export.xlsx", views.visits_export, name="visits_export"),
    path("dispatch/to-confirm/", views.to_confirm, name="to_confirm"),
    # Notifications link here: keep this address.
    path("dispatch/requests/<uuid:request_id>/", views.request_detail, name="request"),
    path("dispatch/requests/<uuid:request_id>/<slug:action>/", views.request_act, name="act"),
    path("dispatch/requests/<uuid:request_id>/photos/<uuid:photo_id>/", views.request_photo, name="photo"),
    path("my/requests/", views.my_requests, name="my_requests"),
    path("my/requests/new/", views.request_new, name="request_new"),
    # 敲门行动 and a grid worker's day.
    path("today/", views.today, name="today"),
    path("visits/", views.visits_home, name="visits"),
    path("visits/rounds/<uuid:round_id>/", views.visit_round, name="visit_round"),
    path("visits/coverage/<str:code>/", views.visit_coverage, name="visit_coverage"),
    path("visits/plan/<str:code>/", views.visit_round_plan, name="visit_plan"),
    path("households/<uuid:household_id>/visit/", views.visit_new, name="visit_new"),
]
