from django.urls import include, path

from tongxin.core.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("open311/v2/", include("tongxin.dispatch.open311_urls")),
    path("", include("tongxin.people.urls")),
    path("", include("tongxin.grid.urls")),
    path("", include("tongxin.registry.urls")),
    path("", include("tongxin.dispatch.urls")),
    path("", include("tongxin.core.urls")),
]


def _not_found(request, exception=None):
    """404 for unknown paths: the error body under /api/, a light page elsewhere."""
    from django.http import JsonResponse
    from django.shortcuts import render

    from tongxin.core.errors import NotFound

    if request.path.startswith("/api/") or request.path.startswith("/open311/"):
        return JsonResponse(NotFound().as_body(), status=404)
    return render(request, "404.html", status=404)


handler404 = _not_found
