"""Steps for the service-role admin API."""

from __future__ import annotations

import pytest
from pytest_bdd import when

from guestpass.conformance.steps.core import new_password
from guestpass.conformance.steps.phrases import phrase
from guestpass.conformance.world import World, unique_email


@when(phrase('the service role creates the confirmed user "{name}"'))
def service_role_creates(world: World, name: str) -> None:
    if not world.target.service_role_key:
        pytest.skip("not applicable: the target file gives no service_role key")
    actor = world.actor(name)
    actor.email, actor.password = unique_email(name), new_password()
    response = world.record(
        world.client.request(
            "POST",
            "/admin/users",
            token=world.target.service_role_key,
            json={"email": actor.email, "password": actor.password, "email_confirm": True},
        )
    )
    if response.status_code == 200:
        actor.user_id = response.json()["id"]


@when("the anon key is used to create a user through the admin API")
def anon_key_admin(world: World) -> None:
    if not world.target.anon_key:
        pytest.skip("not applicable: the target file gives no anon key")
    world.record(
        world.client.request(
            "POST",
            "/admin/users",
            token=world.target.anon_key,
            json={"email": unique_email("intruder"), "password": new_password()},
        )
    )


@when(phrase('the service role deletes the user "{name}"'))
def service_role_deletes(world: World, name: str) -> None:
    if not world.target.service_role_key:
        pytest.skip("not applicable: the target file gives no service_role key")
    world.record(
        world.client.request("DELETE", f"/admin/users/{world.actor(name).user_id}", token=world.target.service_role_key)
    )


@when(phrase('"{name}" deletes the user "{other}" through the admin API'))
def user_deletes_through_admin(world: World, name: str, other: str) -> None:
    world.record(
        world.client.request(
            "DELETE", f"/admin/users/{world.actor(other).user_id}", token=world.actor(name).access_token()
        )
    )
