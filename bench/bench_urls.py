"""Tongxin's URLs plus ``POST /bench/bare``: the same stack (middleware, bearer auth, JSON
parsing, one transaction) doing a single insert, as the baseline for filing requests."""

from django.urls import path
from ninja import NinjaAPI, Schema

from tongxin.core import clock
from tongxin.core.api import BearerAuth, JSONRenderer
from tongxin.core.models import Notification
from tongxin.urls import urlpatterns as tongxin_urlpatterns

bare = NinjaAPI(urls_namespace="bench", auth=BearerAuth(), renderer=JSONRenderer(), docs_url=None, openapi_url=None)


class BareIn(Schema):
    description: str


@bare.post("/bare", response={201: dict})
def bare_insert(request, payload: BareIn):
    row = Notification.objects.create(recipient=request.auth, kind="bench", language="zh-hans",
                                      subject=payload.description[:200], created_at=clock.now())
    return 201, {"id": row.pk}


urlpatterns = [path("bench/", bare.urls), *tongxin_urlpatterns]
