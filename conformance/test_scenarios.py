"""The conformance suite: every scenario of every feature file, bound to guestpass's steps."""

from pytest_bdd import scenarios

from guestpass.conformance import step_lookup
from guestpass.conformance.steps.addresses import *  # noqa: F403
from guestpass.conformance.steps.admin import *  # noqa: F403  (step definitions are fixtures)
from guestpass.conformance.steps.anonymous import *  # noqa: F403
from guestpass.conformance.steps.captcha import *  # noqa: F403
from guestpass.conformance.steps.cli import *  # noqa: F403
from guestpass.conformance.steps.common import *  # noqa: F403
from guestpass.conformance.steps.connections import *  # noqa: F403
from guestpass.conformance.steps.core import *  # noqa: F403
from guestpass.conformance.steps.data import *  # noqa: F403
from guestpass.conformance.steps.enumeration import *  # noqa: F403
from guestpass.conformance.steps.hostile_input import *  # noqa: F403
from guestpass.conformance.steps.id_token import *  # noqa: F403
from guestpass.conformance.steps.mail import *  # noqa: F403
from guestpass.conformance.steps.mail_pkce import *  # noqa: F403
from guestpass.conformance.steps.mail_reuse import *  # noqa: F403
from guestpass.conformance.steps.merge import *  # noqa: F403
from guestpass.conformance.steps.mfa import *  # noqa: F403
from guestpass.conformance.steps.mfa_webauthn import *  # noqa: F403
from guestpass.conformance.steps.notifications import *  # noqa: F403
from guestpass.conformance.steps.oauth import *  # noqa: F403
from guestpass.conformance.steps.passkeys import *  # noqa: F403
from guestpass.conformance.steps.reauthentication import *  # noqa: F403
from guestpass.conformance.steps.resend import *  # noqa: F403
from guestpass.conformance.steps.session_values import *  # noqa: F403
from guestpass.conformance.world import applicable, guestpass_mail, guestpass_target, world  # noqa: F401
from guestpass.scenarios import FEATURES_DIR

step_lookup.install()
scenarios(str(FEATURES_DIR))
