from django.urls import path

from tongxin.grid import views

app_name = "grid"
urlpatterns = [
    path("network/", views.top, name="top"),
    path("network/<str:code>/", views.node_detail, name="node"),
]
