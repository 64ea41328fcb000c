"""The target file template: valid TOML, loadable as a Target, and naming everything a target can say."""

from __future__ import annotations

import re
import tomllib

import pytest

from guestpass.conformance.capabilities import CAPABILITIES
from guestpass.conformance.target import DEFAULT_CAPABILITIES, Target, target_schema
from guestpass.conformance.target_template import PLACEHOLDER_BASE_URL, target_template
from guestpass.conformance.target_template_gotrue import gotrue_template

SECTIONS = {
    "keys": ("anon", "service_role", "jwt_secret", "jwt_private_key_file"),
    "rate_limits": ("header", "anonymous_sign_ins", "window_seconds"),
    "tokens": ("refresh_token_reuse_interval",),
    "mail": ("smtp_capture_port", "generate_link", "token_ttl", "send_interval"),
    "mfa": ("challenge_ttl", "verify_attempts"),
    "passkeys": ("origin", "rp_id", "challenge_ttl", "max_per_user"),
    "oauth": ("provider", "issuer", "redirect_to", "flow_ttl", "checks_id_token", "client_id", "client_secret"),
    "captcha": ("provider", "siteverify_port", "site_key", "secret"),
    "variants": (
        "anonymous_disabled",
        "email_confirmation",
        "passkey_upgrade_disabled",
        "manual_linking_disabled",
        "password_reauthentication",
        "captcha",
    ),
}
TOP_LEVEL_KEYS = ("name", "base_url", "data_base_url", "capabilities", "instances")
COMMENTED_OUT = re.compile(r"^(\s*)# (?=\"[a-z-]+\",|[a-z_]+ = )", re.MULTILINE)


def uncommented(template: str) -> str:
    """The template with every example key and capability switched on."""
    return COMMENTED_OUT.sub(r"\1", template)


def test_the_template_parses_and_loads_as_a_target() -> None:
    data = tomllib.loads(target_template())
    target = Target.from_dict(data)
    assert target.base_url == PLACEHOLDER_BASE_URL
    assert set(DEFAULT_CAPABILITIES) <= target.capabilities
    assert set(data) >= {"name", "base_url", "capabilities", *SECTIONS}


def test_every_capability_is_on_its_own_line_with_its_meaning() -> None:
    template = target_template()
    for capability, meaning in CAPABILITIES.items():
        line = re.search(rf'^\s*(?:# )?"{re.escape(capability)}",\s+# (.*)$', template, re.MULTILINE)
        assert line, f"{capability} has no line of its own"
        assert line[1] == meaning


def test_every_section_and_key_is_named_with_a_comment() -> None:
    template = target_template()
    for key in TOP_LEVEL_KEYS:
        assert re.search(rf"^(# )?{key} = ", template, re.MULTILINE), key
    for section, keys in SECTIONS.items():
        assert f"\n[{section}]\n" in template, section
        body = template.split(f"[{section}]\n", 1)[1].split("\n[", 1)[0]
        for key in keys:
            assert re.search(rf"^#.*\n(# )?{key} = ", body, re.MULTILINE), f"[{section}] {key} has no comment above it"
    assert template.count("not applicable") >= len(SECTIONS)


def test_switching_every_example_on_still_loads_and_fills_the_target() -> None:
    target = Target.from_dict(tomllib.loads(uncommented(target_template())))
    assert target.capabilities == frozenset(CAPABILITIES)
    assert target.data_base_url
    assert target.anon_key and target.service_role_key and target.jwt_secret and target.jwt_private_key_file
    assert target.rate_limits.header and target.rate_limits.anonymous_sign_ins and target.rate_limits.window_seconds
    assert target.mail.smtp_capture_port and target.mail.generate_link and target.mail.token_ttl
    assert target.mail.send_interval and target.mfa_challenge_ttl
    assert set(target.variants) == set(SECTIONS["variants"])
    assert target.captcha.drivable


def test_a_given_base_url_is_used() -> None:
    data = tomllib.loads(target_template("http://127.0.0.1:9999/auth/v1/"))
    target = Target.from_dict(data)
    assert target.base_url == "http://127.0.0.1:9999/auth/v1"
    assert target.name == "127.0.0.1"
    assert Target.from_dict(
        tomllib.loads(uncommented(target_template("http://127.0.0.1:9999/auth/v1")))
    ).data_base_url == ("http://127.0.0.1:9999/data/v1")


@pytest.mark.parametrize("name", ["staging", 'a "quoted" name', "back\\slash", "tab\tand\x7fdel", "café"])
def test_a_given_name_survives_any_characters(name: str) -> None:
    assert Target.from_dict(tomllib.loads(target_template(name=name))).name == name


def test_the_published_schema_names_every_capability_and_every_key_of_the_template() -> None:
    schema = target_schema()
    assert schema["properties"]["capabilities"]["items"]["enum"] == list(CAPABILITIES)
    assert set(TOP_LEVEL_KEYS) | set(SECTIONS) == schema["properties"].keys()
    for section, keys in SECTIONS.items():
        assert set(keys) <= schema["properties"][section]["properties"].keys()


def test_the_gotrue_template_loads_and_names_a_setting_for_every_claimed_capability() -> None:
    template = gotrue_template()
    target = Target.from_dict(tomllib.loads(template))
    assert target.base_url == "http://127.0.0.1:9999" and not target.oauth.checks_id_token
    for capability in target.capabilities - {"core", "admin"}:
        line = re.search(rf'^\s+"{re.escape(capability)}",\s+# (.*)$', template, re.MULTILINE)
        assert line and ("GOTRUE_" in line[1] or "variant" in line[1]), capability
    assert not target.capabilities & {"merge", "owned-data", "cli-handoff", "sessions", "self-delete"}
