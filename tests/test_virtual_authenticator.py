"""guestpass's virtual WebAuthn authenticator, checked by two independent relying-party libraries: the
`webauthn` package (what the reference server uses) and the server side of Yubico's `fido2`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fido2 import webauthn as fido2_structs
from fido2.attestation import Attestation, AttestationType
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestationObject,
    AttestedCredentialData,
    AuthenticationResponse,
    AuthenticatorData,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
)
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, decode_credential_public_key
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from guestpass.fixtures.webauthn import (
    DEFAULT_AAGUID,
    Algorithm,
    InvalidStateError,
    NotAllowedError,
    NotSupportedError,
    SignCountMode,
    VirtualAuthenticator,
    rp_id_hash,
)

RP_ID = "example.com"
ORIGIN = "https://example.com"
WRONG_ORIGIN = "https://example.net"
OTHER_RP_ID = "example.org"

ALGORITHMS = [Algorithm.ES256, Algorithm.EDDSA, Algorithm.RS256]
FORMATS = ["none", "packed"]


# --- the `webauthn` package as relying party ---------------------------------------------------------


@dataclass
class WebauthnRp:
    """Verifies with the `webauthn` package and keeps public keys and counters the way a server does."""

    user_verification: UserVerificationRequirement = UserVerificationRequirement.PREFERRED
    require_uv: bool = False
    keys: dict[bytes, bytes] = field(default_factory=dict)
    counts: dict[bytes, int] = field(default_factory=dict)
    owners: dict[bytes, bytes] = field(default_factory=dict)

    def registration_options(self, *, user_id: bytes, resident_key: ResidentKeyRequirement, algorithms: Sequence[int]):
        return generate_registration_options(
            rp_id=RP_ID,
            rp_name="guestpass",
            user_id=user_id,
            user_name=f"user-{user_id.hex()}",
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=resident_key, user_verification=self.user_verification
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=credential_id)
                for credential_id, owner in self.owners.items()
                if owner == user_id
            ],
            supported_pub_key_algs=[COSEAlgorithmIdentifier(alg) for alg in algorithms],
        )

    def register(
        self,
        device: VirtualAuthenticator,
        *,
        origin: str = ORIGIN,
        user_id: bytes = b"user-1",
        resident_key: ResidentKeyRequirement = ResidentKeyRequirement.REQUIRED,
        algorithms: Sequence[int] = ALGORITHMS,
        **forgery: Any,
    ) -> VerifiedRegistration:
        options = self.registration_options(user_id=user_id, resident_key=resident_key, algorithms=algorithms)
        credential = device.create(json.loads(options_to_json(options)), origin, **forgery)
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=options.challenge,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
            require_user_verification=self.require_uv,
        )
        self.keys[verified.credential_id] = verified.credential_public_key
        self.counts[verified.credential_id] = verified.sign_count
        self.owners[verified.credential_id] = user_id
        return verified

    def sign_in(
        self,
        device: VirtualAuthenticator,
        *,
        origin: str = ORIGIN,
        allow: Sequence[bytes] = (),
        credential_id: bytes | None = None,
        **forgery: Any,
    ) -> tuple[VerifiedAuthentication, dict[str, Any]]:
        options = generate_authentication_options(
            rp_id=RP_ID,
            allow_credentials=[PublicKeyCredentialDescriptor(id=allowed) for allowed in allow],
            user_verification=self.user_verification,
        )
        credential = device.get(json.loads(options_to_json(options)), origin, credential_id, **forgery)
        used = base64url_to_bytes(credential["rawId"])
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=options.challenge,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
            credential_public_key=self.keys[used],
            credential_current_sign_count=self.counts[used],
            require_user_verification=self.require_uv,
        )
        self.counts[used] = verified.new_sign_count
        return verified, credential


# --- fido2's server as relying party -----------------------------------------------------------------


class Fido2Rp:
    """Verifies with `fido2.server.Fido2Server`, attestation statements included (Fido2Server leaves
    their checking to a callback, so this one hands them to fido2's own verifiers)."""

    def __init__(
        self,
        *,
        algorithms: Sequence[int] | None = None,
        user_verification: fido2_structs.UserVerificationRequirement | None = None,
    ) -> None:
        self.server = Fido2Server(
            PublicKeyCredentialRpEntity(name="guestpass", id=RP_ID),
            attestation=AttestationConveyancePreference.DIRECT,
            verify_attestation=self._verify_attestation,
        )
        if algorithms is not None:
            self.server.allowed_algorithms = [
                PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg) for alg in algorithms
            ]
        self.user_verification = user_verification
        self.credentials: list[AttestedCredentialData] = []
        self.owners: dict[bytes, bytes] = {}
        self.attestation_types: list[AttestationType] = []

    def _verify_attestation(self, attestation: AttestationObject, client_data_hash: bytes) -> None:
        verifier = Attestation.for_type(attestation.fmt)()
        result = verifier.verify(attestation.att_stmt, attestation.auth_data, client_data_hash)
        self.attestation_types.append(result.attestation_type)

    def register(
        self,
        device: VirtualAuthenticator,
        *,
        origin: str = ORIGIN,
        user_id: bytes = b"user-1",
        resident_key: fido2_structs.ResidentKeyRequirement = fido2_structs.ResidentKeyRequirement.REQUIRED,
        **forgery: Any,
    ) -> AuthenticatorData:
        options, state = self.server.register_begin(
            PublicKeyCredentialUserEntity(id=user_id, name=f"user-{user_id.hex()}"),
            [credential for credential in self.credentials if self.owners[credential.credential_id] == user_id],
            resident_key_requirement=resident_key,
            user_verification=self.user_verification,
        )
        credential = device.create(json.loads(json.dumps(dict(options))), origin, **forgery)
        auth_data = self.server.register_complete(state, RegistrationResponse.from_dict(credential))
        assert auth_data.credential_data is not None
        self.credentials.append(auth_data.credential_data)
        self.owners[auth_data.credential_data.credential_id] = user_id
        return auth_data

    def sign_in(
        self,
        device: VirtualAuthenticator,
        *,
        origin: str = ORIGIN,
        allow: bool = False,
        credential_id: bytes | None = None,
        **forgery: Any,
    ) -> AuthenticationResponse:
        """Signs in, discoverable unless `allow` lists the registered credentials; returns the parsed
        response (fido2 leaves the counter to the application: it is in `.response.authenticator_data`)."""
        options, state = self.server.authenticate_begin(
            self.credentials if allow else None, user_verification=self.user_verification
        )
        credential = device.get(json.loads(json.dumps(dict(options))), origin, credential_id, **forgery)
        response = AuthenticationResponse.from_dict(credential)
        self.server.authenticate_complete(state, self.credentials, response)
        return response


# --- the shape of what the client sends --------------------------------------------------------------


def test_registration_response_has_the_browser_shape() -> None:
    device = VirtualAuthenticator(attestation="packed")
    options = json.loads(
        options_to_json(generate_registration_options(rp_id=RP_ID, rp_name="guestpass", user_name="alice"))
    )
    credential = device.create({"publicKey": options}, ORIGIN)

    assert set(credential) == {"id", "rawId", "type", "response", "clientExtensionResults", "authenticatorAttachment"}
    assert credential["type"] == "public-key"
    assert credential["id"] == credential["rawId"] == bytes_to_base64url(device.credentials[0].credential_id)
    assert credential["clientExtensionResults"] == {}
    assert credential["authenticatorAttachment"] == "platform"
    assert credential["response"]["transports"] == ["internal"]
    for text in (credential["id"], *credential["response"].values()):
        assert "=" not in text and "+" not in text and "/" not in text
    client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
    assert client_data == {
        "type": "webauthn.create",
        "challenge": options["challenge"],
        "origin": ORIGIN,
        "crossOrigin": False,
    }


def test_authentication_response_has_the_browser_shape() -> None:
    device = VirtualAuthenticator()
    WebauthnRp().register(device, user_id=b"alice")
    options = json.loads(options_to_json(generate_authentication_options(rp_id=RP_ID)))
    credential = device.get(options, ORIGIN)

    assert set(credential) == {"id", "rawId", "type", "response", "clientExtensionResults", "authenticatorAttachment"}
    assert set(credential["response"]) == {"clientDataJSON", "authenticatorData", "signature", "userHandle"}
    assert credential["type"] == "public-key"
    assert credential["response"]["userHandle"] == bytes_to_base64url(b"alice")
    client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
    assert client_data == {
        "type": "webauthn.get",
        "challenge": options["challenge"],
        "origin": ORIGIN,
        "crossOrigin": False,
    }
    auth_data = base64url_to_bytes(credential["response"]["authenticatorData"])
    assert (auth_data[:32], auth_data[32], int.from_bytes(auth_data[33:37], "big"), len(auth_data)) == (
        rp_id_hash(RP_ID),
        0x05,
        1,
        37,
    )


def test_authenticator_data_follows_the_spec_layout() -> None:
    device = VirtualAuthenticator(backup_eligible=True, backup_state=True)
    auth_data = Fido2Rp().register(device)

    assert auth_data.rp_id_hash == rp_id_hash(RP_ID) == hashlib.sha256(RP_ID.encode()).digest()
    assert auth_data.flags == AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV | AuthenticatorData.FLAG.BE | (
        AuthenticatorData.FLAG.BS | AuthenticatorData.FLAG.AT
    )
    assert auth_data.counter == 0
    assert auth_data.credential_data is not None
    assert auth_data.credential_data.aaguid == DEFAULT_AAGUID.bytes
    assert auth_data.credential_data.credential_id == device.credentials[0].credential_id


# --- algorithms and attestation formats --------------------------------------------------------------


@pytest.mark.parametrize("attestation", FORMATS)
@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda alg: alg.name)
def test_webauthn_accepts_each_algorithm_and_format(algorithm: Algorithm, attestation: str) -> None:
    rp = WebauthnRp()
    device = VirtualAuthenticator(attestation=attestation)
    registered = rp.register(device, algorithms=[algorithm])

    assert registered.fmt == attestation
    assert decode_credential_public_key(registered.credential_public_key).alg == algorithm
    assert registered.credential_public_key == device.credentials[0].public_key
    assert registered.aaguid == str(DEFAULT_AAGUID)
    signed_in, _ = rp.sign_in(device)
    assert signed_in.credential_id == registered.credential_id
    assert signed_in.new_sign_count == 1


@pytest.mark.parametrize("attestation", FORMATS)
@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda alg: alg.name)
def test_fido2_accepts_each_algorithm_and_format(algorithm: Algorithm, attestation: str) -> None:
    rp = Fido2Rp(algorithms=[algorithm])
    device = VirtualAuthenticator(attestation=attestation)
    auth_data = rp.register(device)

    assert auth_data.credential_data is not None
    key_algorithm = auth_data.credential_data.public_key.ALGORITHM
    assert key_algorithm == algorithm
    expected = AttestationType.SELF if attestation == "packed" else AttestationType.NONE
    assert rp.attestation_types == [expected]
    response = rp.sign_in(device)
    assert response.raw_id == auth_data.credential_data.credential_id
    assert response.response.authenticator_data.counter == 1


def test_the_algorithm_follows_the_servers_order_of_preference() -> None:
    device = VirtualAuthenticator()
    WebauthnRp().register(device, algorithms=[Algorithm.RS256, Algorithm.ES256])
    Fido2Rp(algorithms=[-36, Algorithm.EDDSA, Algorithm.ES256]).register(device)  # -36 is ES512

    assert [credential.algorithm for credential in device.credentials] == [Algorithm.RS256, Algorithm.EDDSA]


def test_a_forced_algorithm_wins_and_an_unsupported_offer_is_refused() -> None:
    WebauthnRp().register(VirtualAuthenticator(algorithm=Algorithm.EDDSA), algorithms=[Algorithm.EDDSA])
    forced = VirtualAuthenticator(algorithm=Algorithm.RS256)
    Fido2Rp().register(forced)
    assert forced.credentials[0].algorithm is Algorithm.RS256

    with pytest.raises(NotSupportedError):
        Fido2Rp(algorithms=[-36, -37]).register(VirtualAuthenticator())


def test_a_packed_registration_for_another_rp_id_is_rejected_by_both() -> None:
    device = VirtualAuthenticator(attestation="packed")
    with pytest.raises(InvalidRegistrationResponse, match="RP ID hash"):
        WebauthnRp().register(device, rp_id=OTHER_RP_ID)
    with pytest.raises(ValueError, match="RP ID hash"):
        Fido2Rp().register(device, rp_id=OTHER_RP_ID)


# --- discoverable credentials ------------------------------------------------------------------------


def test_discoverable_sign_in_returns_the_user_handle() -> None:
    device = VirtualAuthenticator()
    webauthn_rp, fido2_rp = WebauthnRp(), Fido2Rp()
    webauthn_rp.register(device, user_id=b"webauthn-user")
    fido2_rp.register(device, user_id=b"fido2-user")
    stored = device.credentials[0]
    assert (stored.rp_id, stored.user_handle, stored.discoverable) == (RP_ID, b"webauthn-user", True)
    assert stored.user_name == f"user-{b'webauthn-user'.hex()}"

    _, credential = webauthn_rp.sign_in(device, credential_id=stored.credential_id)
    assert base64url_to_bytes(credential["response"]["userHandle"]) == b"webauthn-user"
    # with no credential named, the newest one for the RP answers
    assert fido2_rp.sign_in(device).response.user_handle == b"fido2-user"


def test_a_non_discoverable_credential_needs_allow_credentials() -> None:
    device = VirtualAuthenticator()
    webauthn_rp, fido2_rp = WebauthnRp(), Fido2Rp()
    registered = webauthn_rp.register(device, resident_key=ResidentKeyRequirement.DISCOURAGED)
    fido2_rp.register(device, resident_key=fido2_structs.ResidentKeyRequirement.DISCOURAGED)
    assert [credential.discoverable for credential in device.credentials] == [False, False]

    with pytest.raises(NotAllowedError):
        webauthn_rp.sign_in(device)
    with pytest.raises(NotAllowedError):
        fido2_rp.sign_in(device)
    _, credential = webauthn_rp.sign_in(device, allow=[registered.credential_id])
    assert credential["response"]["userHandle"] is None
    assert fido2_rp.sign_in(device, allow=True).response.user_handle is None


# --- user presence and verification ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "requested", "flag"),
    [
        (None, "required", True),
        (None, "preferred", True),
        (None, "discouraged", False),
        (True, "discouraged", True),
        (False, "preferred", False),
    ],
)
def test_the_uv_flag_follows_the_request_unless_forced(reported: bool | None, requested: str, flag: bool) -> None:
    device = VirtualAuthenticator(user_verified=reported)
    rp = WebauthnRp(user_verification=UserVerificationRequirement(requested))
    assert rp.register(device).user_verified is flag
    assert rp.sign_in(device)[0].user_verified is flag
    fido2_rp = Fido2Rp(user_verification=fido2_structs.UserVerificationRequirement(requested))
    assert fido2_rp.register(device).is_user_verified() is flag
    assert fido2_rp.sign_in(device).response.authenticator_data.is_user_verified() is flag


def test_required_user_verification_rejects_a_missing_uv_flag() -> None:
    rp = WebauthnRp(user_verification=UserVerificationRequirement.REQUIRED, require_uv=True)
    fido2_rp = Fido2Rp(user_verification=fido2_structs.UserVerificationRequirement.REQUIRED)
    with pytest.raises(InvalidRegistrationResponse, match="verif"):
        rp.register(VirtualAuthenticator(user_verified=False))
    with pytest.raises(ValueError, match="User verification required"):
        fido2_rp.register(VirtualAuthenticator(user_verified=False))

    device = VirtualAuthenticator()
    first = rp.register(device)
    fido2_rp.register(device)
    device.user_verified = False
    with pytest.raises(InvalidAuthenticationResponse, match="verif"):
        rp.sign_in(device, credential_id=first.credential_id)
    with pytest.raises(ValueError, match="User verification required"):
        fido2_rp.sign_in(device)
    device.user_verified = None
    assert rp.sign_in(device, credential_id=first.credential_id)[0].user_verified
    assert fido2_rp.sign_in(device).response.authenticator_data.is_user_verified()


def test_a_missing_up_flag_is_rejected_by_both() -> None:
    device = VirtualAuthenticator(user_present=False)
    with pytest.raises(InvalidRegistrationResponse, match="present"):
        WebauthnRp().register(device)
    with pytest.raises(ValueError, match="User Present"):
        Fido2Rp().register(device)


def test_backup_flags_are_reported() -> None:
    device = VirtualAuthenticator(backup_eligible=True, backup_state=True)
    registered = WebauthnRp().register(device)
    assert registered.credential_device_type is CredentialDeviceType.MULTI_DEVICE
    assert registered.credential_backed_up is True
    auth_data = Fido2Rp().register(device)
    assert auth_data.is_backup_eligible() and auth_data.is_backed_up()


# --- the sign counter --------------------------------------------------------------------------------


def test_the_counter_increments_by_default() -> None:
    device = VirtualAuthenticator()
    rp, fido2_rp = WebauthnRp(), Fido2Rp()
    rp.register(device)
    assert [rp.sign_in(device)[0].new_sign_count for _ in range(3)] == [1, 2, 3]
    fido2_rp.register(device)
    counters = [fido2_rp.sign_in(device).response.authenticator_data.counter for _ in range(2)]
    assert counters == [1, 2]


def test_a_counter_that_stays_zero_is_accepted() -> None:
    device, fido2_device = VirtualAuthenticator(sign_count_mode="zero"), VirtualAuthenticator(sign_count_mode="zero")
    rp, fido2_rp = WebauthnRp(), Fido2Rp()
    rp.register(device)
    fido2_rp.register(fido2_device)

    assert [rp.sign_in(device)[0].new_sign_count for _ in range(2)] == [0, 0]
    assert fido2_rp.sign_in(fido2_device).response.authenticator_data.counter == 0
    assert device.credentials[0].sign_count_mode is SignCountMode.ZERO


def test_a_rolled_back_counter_is_rejected_by_webauthn() -> None:
    device, fido2_device = VirtualAuthenticator(), VirtualAuthenticator()
    rp, fido2_rp = WebauthnRp(), Fido2Rp()
    rp.register(device)
    fido2_rp.register(fido2_device)
    for _ in range(3):
        rp.sign_in(device)
        fido2_rp.sign_in(fido2_device)

    device.set_sign_count(1)
    with pytest.raises(InvalidAuthenticationResponse, match="sign count of 2 was not greater than current count of 3"):
        rp.sign_in(device)
    # fido2's server checks no counter: it hands the value back for the application to compare
    fido2_device.set_sign_count(1)
    assert fido2_rp.sign_in(fido2_device).response.authenticator_data.counter == 2


def test_a_cloned_authenticator_trips_the_counter() -> None:
    device = VirtualAuthenticator()
    rp = WebauthnRp()
    registered = rp.register(device)
    rp.sign_in(device)
    clone = device.clone()
    assert clone.credentials[0].public_key == registered.credential_public_key
    assert clone.credentials[0] is not device.credentials[0]

    rp.sign_in(device)
    with pytest.raises(InvalidAuthenticationResponse, match="sign count"):
        rp.sign_in(clone)
    assert (device.credentials[0].sign_count, clone.credentials[0].sign_count) == (2, 2)


# --- forged responses --------------------------------------------------------------------------------


def test_a_wrong_origin_is_rejected_by_both() -> None:
    device = VirtualAuthenticator()
    rp, fido2_rp = WebauthnRp(), Fido2Rp()
    with pytest.raises(InvalidRegistrationResponse, match="origin"):
        rp.register(device, origin=WRONG_ORIGIN)
    with pytest.raises(ValueError, match="Invalid origin"):
        fido2_rp.register(device, origin=WRONG_ORIGIN)

    rp.register(device)
    fido2_rp.register(device, user_id=b"user-2")
    with pytest.raises(InvalidAuthenticationResponse, match="origin"):
        rp.sign_in(device, credential_id=device.credentials[-2].credential_id, origin=WRONG_ORIGIN)
    with pytest.raises(ValueError, match="Invalid origin"):
        fido2_rp.sign_in(device, origin=WRONG_ORIGIN)


def test_another_rp_ids_hash_is_rejected_by_both() -> None:
    device = VirtualAuthenticator()
    rp, fido2_rp = WebauthnRp(), Fido2Rp()
    rp.register(device)
    fido2_rp.register(device)
    with pytest.raises(InvalidAuthenticationResponse, match="RP ID hash"):
        rp.sign_in(device, credential_id=device.credentials[0].credential_id, rp_id=OTHER_RP_ID)
    with pytest.raises(ValueError, match="RP ID hash"):
        fido2_rp.sign_in(device, rp_id=OTHER_RP_ID)


def test_a_tampered_signature_is_rejected_by_both() -> None:
    for algorithm in ALGORITHMS:
        device = VirtualAuthenticator(algorithm=algorithm)
        rp, fido2_rp = WebauthnRp(), Fido2Rp()
        rp.register(device)
        fido2_rp.register(device)
        with pytest.raises(InvalidAuthenticationResponse, match="signature"):
            rp.sign_in(device, credential_id=device.credentials[0].credential_id, tamper_signature=True)
        with pytest.raises(ValueError, match="Invalid signature"):
            fido2_rp.sign_in(device, tamper_signature=True)


def test_a_signature_from_another_credential_is_rejected() -> None:
    device = VirtualAuthenticator()
    rp = WebauthnRp()
    first = rp.register(device, user_id=b"user-1")
    second = rp.register(device, user_id=b"user-2")
    rp.keys[first.credential_id] = second.credential_public_key
    with pytest.raises(InvalidAuthenticationResponse, match="signature"):
        rp.sign_in(device, credential_id=first.credential_id)


# --- excludeCredentials and several credentials ------------------------------------------------------


def test_exclude_credentials_is_honoured() -> None:
    device, other_device = VirtualAuthenticator(), VirtualAuthenticator()
    rp, fido2_rp = WebauthnRp(), Fido2Rp()
    rp.register(device)
    fido2_rp.register(device)

    with pytest.raises(InvalidStateError, match="excluded"):
        rp.register(device)
    with pytest.raises(InvalidStateError, match="excluded"):
        fido2_rp.register(device)
    assert len(device.credentials) == 2
    rp.register(other_device)
    fido2_rp.register(other_device)


def test_reusing_a_credential_attests_it_again() -> None:
    device = VirtualAuthenticator()
    rp = WebauthnRp()
    first = rp.register(device)
    again = WebauthnRp().register(device, reuse_credential=True)
    assert again.credential_id == first.credential_id
    assert again.credential_public_key == first.credential_public_key
    assert len(device.credentials) == 1


def test_one_device_holds_several_credentials() -> None:
    device = VirtualAuthenticator()
    rp, fido2_rp = WebauthnRp(), Fido2Rp()
    ids = [rp.register(device, user_id=f"user-{n}".encode()).credential_id for n in range(3)]
    fido2_rp.register(device, user_id=b"fido2-user")
    other_rp = {"challenge": bytes_to_base64url(b"0" * 32), "rpId": OTHER_RP_ID, "allowCredentials": []}
    assert len(device.credentials) == 4

    for credential_id in ids:
        signed_in, credential = rp.sign_in(device, allow=[credential_id])
        assert signed_in.credential_id == credential_id
        assert credential["response"]["userHandle"] == bytes_to_base64url(device.credential(credential_id).user_handle)
    assert rp.sign_in(device, credential_id=ids[1])[0].credential_id == ids[1]
    assert fido2_rp.sign_in(device).response.user_handle == b"fido2-user"
    assert fido2_rp.sign_in(device, allow=True).raw_id == device.credentials[-1].credential_id
    assert [rp.counts[credential_id] for credential_id in ids] == [1, 2, 1]
    with pytest.raises(NotAllowedError):
        device.get(other_rp, f"https://{OTHER_RP_ID}")
