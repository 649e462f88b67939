"""/open311/v2/…: the Open311 GeoReport v2 endpoint (see ``dispatch.open311``).

Every resource ends in its format (``.xml`` or ``.json``); anything else under the prefix
answers a GeoReport 404.
"""

from django.urls import re_path

from tongxin.dispatch import open311

app_name = "open311"
_FMT = r"\.(?P<fmt>[^/.]+)$"
urlpatterns = [
    re_path(r"^discovery" + _FMT, open311.discovery, name="discovery"),
    re_path(r"^services" + _FMT, open311.service_list, name="services"),
    re_path(r"^services/(?P<service_code>[^/.]+)" + _FMT, open311.service_definition, name="service"),
    re_path(r"^requests" + _FMT, open311.service_requests, name="requests"),
    re_path(r"^requests/(?P<service_request_id>[^/.]+)" + _FMT, open311.request_detail, name="request"),
    re_path(r"", open311.unknown, name="unknown"),
]
