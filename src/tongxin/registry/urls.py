from django.urls import path

from tongxin.registry import views

app_name = "registry"
urlpatterns = [
    path("households/", views.household_list, name="household_list"),
    path("households/export.xlsx", views.household_export, name="household_export"),
    path("households/<str:household_id>/", views.household_detail, name="household"),
    path("residents/<str:resident_id>/", views.resident_detail, name="resident"),
    path("residents/<str:resident_id>/export.json", views.resident_export_json, name="resident_export_json"),
    path("residents/<str:resident_id>/export.pdf", views.resident_export_pdf, name="resident_export_pdf"),
    path("households/<str:household_id>/anonymise/", views.household_anonymise, name="household_anonymise"),
]
