"""Every page and answer carries a Content-Security-Policy that allows no inline script and
nothing from another site; no page carries an inline script or an internet address (the API
docs included, served from the installed package); behind TLS (``TONGXIN_HTTPS=true``) cookies
are Secure and HSTS is sent."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from django.test import override_settings
from django.urls import reverse

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INTERNET = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _pages(net) -> list[str]:
    return [reverse("people:login"), reverse("core:home"), reverse("dispatch:map"), reverse("dispatch:queue"),
            reverse("registry:household_list"), "/api/v1/docs"]


def test_every_page_has_a_policy_with_no_inline_script_and_no_other_site(client_as, client, net):
    login = client.get(reverse("people:login"))
    signed_in = client_as(net.users.grid_worker)
    answers = [login] + [signed_in.get(path, follow=True) for path in _pages(net)[1:]]
    for response in answers:
        assert response.status_code == 200, response.request["PATH_INFO"]
        policy = _policy(response)
        assert policy["script-src"] == ["'self'"], response.request["PATH_INFO"]
        assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["style-src"] == ["'self'"]
        assert not any("unsafe-inline" in v or "unsafe-eval" in v or "*" in v
                       for k, values in policy.items() if k != "style-src-attr" for v in values)
        if response["Content-Type"].startswith("text/html"):
            html = response.content.decode()
            assert not INLINE_SCRIPT.search(html), (response.request["PATH_INFO"], INLINE_SCRIPT.search(html))
            assert not INTERNET.search(html), (response.request["PATH_INFO"], INTERNET.search(html))
    # API answers and errors carry it too.
    assert _policy(client.get("/api/v1/auth/me"))["script-src"] == ["'self'"]


def test_the_api_docs_are_served_from_the_package(client):
    html = client.get("/api/v1/docs").content.decode()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert any(s.endswith("swagger-ui-bundle.js") for s in scripts) and all(s.startswith("/static/") for s in scripts)
    for path in scripts + re.findall(r'<link[^>]*href="([^"]+)"', html):
        assert b"".join(client.get(path).streaming_content), path  # each file is there, offline


def test_the_map_page_draws_from_its_static_script(client_as, net):
    html = client_as(net.users.grid_worker).get(reverse("dispatch:map")).content.decode()
    assert 'id="requestmap-options" type="application/json"' in html and 'id="requestmap"' in html
    assert "tongxin/dispatch-map.js" in html


def _settings_with(env: dict, tmp_path) -> dict:
    code = ("import json, tongxin.settings as s; print(json.dumps({k: getattr(s, k) for k in ("
            "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_SSL_REDIRECT', "
            "'SECURE_PROXY_SSL_HEADER')}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TONGXIN_")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, "TONGXIN_DATA_DIR": str(tmp_path), **env},
                         capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def test_tongxin_https_turns_on_secure_cookies_hsts_and_the_redirect(tmp_path, client, net):
    plain = _settings_with({}, tmp_path)
    assert plain == {"SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False, "SECURE_HSTS_SECONDS": 0,
                     "SECURE_SSL_REDIRECT": False, "SECURE_PROXY_SSL_HEADER": None}
    https = _settings_with({"TONGXIN_HTTPS": "true"}, tmp_path)
    assert https["SESSION_COOKIE_SECURE"] and https["CSRF_COOKIE_SECURE"] and https["SECURE_SSL_REDIRECT"]
    assert https["SECURE_HSTS_SECONDS"] >= 180 * 24 * 3600
    with override_settings(**{k: tuple(v) if isinstance(v, list) else v for k, v in https.items()}):
        redirected = client.get(reverse("people:login"))
        assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
        response = client.get(reverse("people:login"), HTTP_X_FORWARDED_PROTO="https")
        assert response.status_code == 200
        assert response["Strict-Transport-Security"].startswith(f"max-age={https['SECURE_HSTS_SECONDS']}")
        assert response.cookies["csrftoken"]["secure"]


@pytest.mark.parametrize("value", ["1", "yes", "on"])
def test_https_takes_the_usual_spellings_of_true(tmp_path, value):
    assert _settings_with({"TONGXIN_HTTPS": value}, tmp_path)["SESSION_COOKIE_SECURE"]
