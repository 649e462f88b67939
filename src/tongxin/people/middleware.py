from django.utils import translation


class UserLanguageMiddleware:
    """A signed-in user without an explicit language choice sees their preferred language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        user = getattr(request, "user", None)
        explicit = settings.LANGUAGE_COOKIE_NAME in request.COOKIES
        if user is not None and user.is_authenticated and not explicit:
            translation.activate(user.preferred_language)
            request.LANGUAGE_CODE = user.preferred_language
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """An account whose password a security administrator reset chooses a new one before
    anything else: every page but the password page, logging out and the language switch
    leads there."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.shortcuts import redirect
        from django.urls import reverse

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            allowed = (reverse("people:password_change"), reverse("people:logout"), "/i18n/", "/static/", "/api/")
            if not request.path.startswith(allowed):
                return redirect("people:password_change")
        return self.get_response(request)
