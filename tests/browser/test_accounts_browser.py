"""The account lifecycle in a real browser, in Chinese and in Tibetan (issue 8 items 2 and 6):
a grid worker changes their password; the security administrator resets a second factor and
revokes a role."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages_browser import LANGUAGES, enrol, start, submit_password
from tests.factories import Factory
from tongxin.people.models import RoleAssignment, User
from tongxin.people.roles import Role

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Nyangchu-river-2026"
CHANGED = {"zh-hans": "您的密码已修改。", "bo": "ཁྱེད་ཀྱི་གསང་ཨང་བསྒྱུར་ཟིན།"}
FACTOR_RESET = {"zh-hans": "第二验证因素已重置", "bo": "ར་སྤྲོད་གཉིས་པ་བསྐྱར་སྒྲིག་བྱས་ཟིན།"}
REVOKED = {"zh-hans": "角色已撤销。", "bo": "འགན་གནས་ཕྱིར་བསྡུས་ཟིན།"}
MY_ACCOUNT = {"zh-hans": "我的账号", "bo": "ངའི་ཐོ་ཁོངས།"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_user_changes_their_password(net, open_page, shot, language):
    page = open_page("phone")
    start(page, language)
    submit_password(page, "grid.worker1", net.password)
    with page.expect_navigation():
        page.locator("nav.menu a", has_text=MY_ACCOUNT[language]).click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.locator("#sessions tbody tr")).to_have_count(1)
    with page.expect_navigation():
        page.locator("#change-password").click()
    page.fill("#id_old_password", net.password)
    page.fill("#id_new_password", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    shot(page, f"password-change-{language}-phone")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(CHANGED[language])
    shot(page, f"my-account-{language}-phone")
    assert User.objects.get(username="grid.worker1").check_password(NEW_PASSWORD)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_security_administrator_resets_a_second_factor_and_revokes_a_role(net, open_page, shot, language):
    security = Factory(start=9000).user("security.admin", Role.SECURITY_ADMIN, net.nodes.county, password=net.password,
                                        full_name="安全管理员")
    auditor = User.objects.get(username="audit.town")
    enrol(auditor)
    assert User.objects.get(pk=auditor.pk).totp_confirmed
    secret = enrol(security)

    page = open_page("desktop")
    start(page, language)
    submit_password(page, "security.admin", net.password, secret)  # name, password and code in one form
    page.goto("/accounts/?q=audit.town")
    with page.expect_navigation():
        page.locator("table.list a", has_text="audit.town").click()
    shot(page, f"account-detail-{language}-desktop")
    with page.expect_navigation():
        page.locator("#second-factor-reset").click()
    expect(page.locator(".messages")).to_contain_text(FACTOR_RESET[language])
    shot(page, f"second-factor-reset-{language}-desktop")
    auditor = User.objects.get(pk=auditor.pk)
    assert not auditor.totp_confirmed and not auditor.totp_secret

    worker = User.objects.get(username="grid.worker2")
    page.goto(f"/accounts/{worker.pk}/")
    expect(page.locator("#roles tbody tr")).to_have_count(1)
    with page.expect_navigation():
        page.locator("#roles button.revoke").click()
    expect(page.locator(".messages")).to_contain_text(REVOKED[language])
    shot(page, f"role-revoked-{language}-desktop")
    assert not RoleAssignment.objects.filter(user=worker).exists()
