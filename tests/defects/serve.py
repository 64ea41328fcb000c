"""Serve the reference server with one defect from the catalogue: `serve.py DEFECT [serve args]`."""

import sys

import pytest
from catalogue import CATALOGUE

from guestpass.reference.server import main

if __name__ == "__main__":
    defect = CATALOGUE[sys.argv[1]]
    wrap_app = defect.apply(pytest.MonkeyPatch())
    main(sys.argv[2:], wrap_app=wrap_app)
