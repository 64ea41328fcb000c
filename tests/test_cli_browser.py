"""End to end: `guestpass login` runs as its own process, headless Chromium opens the URL it prints,
signs in on the reference server's page and confirms; the CLI ends holding a working session."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from support import served


def sign_in_on_page(driver: Any, url: str, email: str, password: str, *, merge: bool | None) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 20)
    driver.get(url)
    wait.until(shown.visibility_of_element_located((By.ID, "sign-in")))
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in-button").click()
    wait.until(shown.visibility_of_element_located((By.ID, "confirm-button")))
    assert driver.find_element(By.ID, "merge-choice").is_displayed() is (merge is not None)
    if merge is False:
        driver.find_element(By.ID, "merge").click()
    driver.find_element(By.ID, "confirm-button").click()
    wait.until(shown.visibility_of_element_located((By.ID, "done")))


def run_login(
    target: dict[str, Any], credentials: Path, driver: Any, email: str, password: str, merge: bool | None
) -> dict[str, Any]:
    cli = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "guestpass.conformance.cli",
            "login",
            "--server",
            target["base_url"],
            "--credentials",
            str(credentials),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stdout is not None
        url = next(line.strip() for line in cli.stdout if "/cli/login#code=" in line)
        sign_in_on_page(driver, url, email, password, merge=merge)
        assert cli.wait(timeout=60) == 0
    finally:
        cli.kill()
    return json.loads(credentials.read_text())


def test_cli_login_through_the_browser(tmp_path: Path, browser: Any) -> None:
    with served(tmp_path, "--profile", "test", "--database-url", f"sqlite:///{tmp_path / 'e2e.db'}") as target:
        http = httpx.Client(timeout=15)
        email, password = f"dana-{uuid.uuid4().hex[:8]}@guestpass.test", "dana-password-1"
        created = http.post(
            f"{target['base_url']}/admin/users",
            json={"email": email, "password": password, "email_confirm": True},
            headers={"Authorization": f"Bearer {target['keys']['service_role']}"},
        )
        assert created.status_code == 200, created.text

        stored = run_login(target, tmp_path / "credentials.json", browser, email, password, merge=None)

        assert stored["email"] == email and stored["user_id"] == created.json()["id"]
        me = http.get(f"{target['base_url']}/user", headers={"Authorization": f"Bearer {stored['access_token']}"})
        assert me.status_code == 200 and me.json()["id"] == created.json()["id"]
        assert oct((tmp_path / "credentials.json").stat().st_mode & 0o777) == "0o600"


def test_cli_login_carries_the_anonymous_session_over(tmp_path: Path, browser: Any) -> None:
    with served(tmp_path, "--profile", "test", "--database-url", f"sqlite:///{tmp_path / 'e2e.db'}") as target:
        auth, data = target["base_url"], target["data_base_url"]
        http = httpx.Client(timeout=15)
        anonymous = http.post(f"{auth}/signup", json={}).json()
        http.post(
            f"{data}/items",
            json={"body": "made in the terminal"},
            headers={"Authorization": f"Bearer {anonymous['access_token']}"},
        )
        credentials = tmp_path / "credentials.json"
        credentials.write_text(
            json.dumps(
                {
                    "server": auth,
                    "refresh_token": anonymous["refresh_token"],
                    "access_token": anonymous["access_token"],
                    "is_anonymous": True,
                }
            )
        )
        email, password = f"dana-{uuid.uuid4().hex[:8]}@guestpass.test", "dana-password-1"
        http.post(
            f"{auth}/admin/users",
            json={"email": email, "password": password, "email_confirm": True},
            headers={"Authorization": f"Bearer {target['keys']['service_role']}"},
        )

        stored = run_login(target, credentials, browser, email, password, merge=True)

        items = http.get(f"{data}/items", headers={"Authorization": f"Bearer {stored['access_token']}"}).json()["items"]
        assert [item["body"] for item in items] == ["made in the terminal"]
        gone = http.get(f"{auth}/user", headers={"Authorization": f"Bearer {anonymous['access_token']}"})
        assert gone.status_code == 403
