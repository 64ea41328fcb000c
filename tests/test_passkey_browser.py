"""End to end: headless Chromium's own WebAuthn client, backed by its virtual authenticator, registers a
passkey on the reference server's passkey page and signs in with it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from support import served

from guestpass.fixtures.ports import free_port

WAIT_SECONDS = 20


def add_platform_authenticator(driver: Any) -> None:
    from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions

    options = VirtualAuthenticatorOptions(
        protocol=VirtualAuthenticatorOptions.Protocol.CTAP2,
        transport=VirtualAuthenticatorOptions.Transport.INTERNAL,
        has_resident_key=True,
        has_user_verification=True,
        is_user_verified=True,
    )
    driver.add_virtual_authenticator(options)


def press(driver: Any, button: str, result: str, previous: str = "") -> str:
    """Clicks `button` and returns the text `result` shows once it changes; fails with the page's error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(_: Any) -> bool:
        text = driver.find_element(By.ID, result).get_attribute("textContent")
        return bool(text and text != previous) or driver.find_element(By.ID, "error").is_displayed()

    driver.find_element(By.ID, button).click()
    WebDriverWait(driver, WAIT_SECONDS).until(settled)
    error = driver.find_element(By.ID, "error")
    assert not error.is_displayed(), error.text
    return driver.find_element(By.ID, result).get_attribute("textContent")


def text_of(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).get_attribute("textContent")


def severe_console_entries(driver: Any) -> list[dict[str, Any]]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_chromium_registers_a_passkey_and_signs_in_with_it(tmp_path: Path, browser: Any) -> None:
    port = free_port()
    origin = f"http://localhost:{port}"
    env = {"GUESTPASS_WEBAUTHN_RP_ID": "localhost", "GUESTPASS_WEBAUTHN_ORIGINS": origin}
    database = f"sqlite:///{tmp_path / f'passkeys-{uuid.uuid4().hex[:8]}.db'}"
    with served(tmp_path, "--port", str(port), "--database-url", database, env=env) as target:
        add_platform_authenticator(browser)
        browser.get(f"{origin}/auth/v1/passkeys/page")

        user_id = press(browser, "sign-up-button", "user-id")
        passkey_id = press(browser, "register-button", "passkey-id")
        [held] = browser.get_credentials()
        assert held.is_resident_credential and held.rp_id == "localhost"

        token = ""
        for _ in range(2):  # the second sign-in goes through the counter the first one advanced
            token = press(browser, "sign-in-button", "access-token", previous=token)
            assert text_of(browser, "signed-in-user") == user_id
            assert text_of(browser, "amr") == "passkey"

        http = httpx.Client(base_url=target["base_url"], headers={"Authorization": f"Bearer {token}"}, timeout=15)
        listed = http.get("/passkeys")
        assert listed.status_code == 200, listed.text
        assert [passkey["id"] for passkey in listed.json()] == [passkey_id]
        assert listed.json()[0]["last_used_at"] is not None
        me = http.get("/user").json()
        assert me["id"] == user_id and me["is_anonymous"] is False
    assert severe_console_entries(browser) == []
