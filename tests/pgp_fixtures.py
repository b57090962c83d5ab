"""A passphrase-protected OpenPGP signing key for the tests of signed exports.

pysequoia generates keys without a passphrase, so this one was made once with GnuPG (ed25519,
signing only, created 2020-01-01, no expiry, passphrase ``PROTECTED_PASSPHRASE``) and is kept
here as text; it protects nothing. Every other test key is generated with pysequoia in its test.
"""

from __future__ import annotations

PROTECTED_PASSPHRASE = "correct-horse"
PROTECTED_FINGERPRINT = "B010C551B546D4BBC9DCC55925DC42270C7CCF3F"
PROTECTED_KEY = """\
-----BEGIN PGP PRIVATE KEY BLOCK-----

lIYEXgvhABYJKwYBBAHaRw8BAQdA0N4x830DrxSpsQ6TgP255lw0LLX0tICasKoW
iAG94yT+BwMC1LQxmTPQFAf/s7aFty949gi4E7h+GOKRpJ49cCSDPRwEzz6/NpFQ
Ij6Qf0Fv8Rq0pj9OG4GX77d5LANdQmtblD8j7lhJ86pMcg8uGkztKrQtU3dpdGNo
eWFyZCBTaWduaW5nIFRlc3QgPHNpZ25pbmdAZXhhbXBsZS5jb20+iJAEExYIADgW
IQSwEMVRtUbUu8ncxVkl3EInDHzPPwUCXgvhAAIbAwULCQgHAgYVCgkICwIEFgID
AQIeAQIXgAAKCRAl3EInDHzPPzzlAP4jxr6MX1ygx8ve0iCXhWtjVg55bMUmIgol
fEco3SDVdgD/X9zWyR49sQ4uoApAb/RDZGODIVoUSEsvTZjX/+AKyQU=
=07Yc
-----END PGP PRIVATE KEY BLOCK-----
"""
