"""Run by `guestpass fuzz`: one Schemathesis test per operation of the target's OpenAPI document."""

from __future__ import annotations

import schemathesis

from guestpass.conformance.fuzz_plugin import FuzzRun

schema = schemathesis.pytest.from_fixture("guestpass_fuzz_schema")


@schema.parametrize()
def test_operation(case: schemathesis.Case, guestpass_fuzz: FuzzRun) -> None:
    guestpass_fuzz.send(case)
