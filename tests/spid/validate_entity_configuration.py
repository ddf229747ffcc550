#!/usr/bin/env python3
"""Validates a relying party's OpenID Federation Entity Configuration with spid-cie-oidc, Italia's
implementation of the SPID/CIE OIDC Federation (the library its Trust Anchors and providers run).

    validate_entity_configuration.py ENTITY_ID     (fetches ENTITY_ID/.well-known/openid-federation)

Library checks: the header (typ entity-statement+jwt, kid), the self-signature against the entity's
own jwks (EntityConfiguration.validate_by_itself), no private key material (validate_public_jwks),
the RP metadata against the CIE and SPID schemas (RPMetadataCie, RPMetadataSpid). Checks of the
federation rules the library leaves to its callers: media type, iss == sub == client_id, iat/exp,
authority_hints, every RP key with its `use`, redirect URIs under the entity id. Exit 0 or 1."""

import sys
import time

import django
from django.conf import settings

settings.configure(USE_TZ=True, USE_I18N=False, HTTP_CLIENT_SYNC=True)
django.setup()

import requests  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from spid_cie_oidc.entity.schemas.rp_metadata import RPMetadataCie, RPMetadataSpid  # noqa: E402
from spid_cie_oidc.entity.statements import EntityConfiguration  # noqa: E402
from spid_cie_oidc.entity.validators import validate_public_jwks  # noqa: E402


def main(entity_id):
    errors = []
    url = entity_id.rstrip("/") + "/.well-known/openid-federation"
    r = requests.get(url, timeout=10)
    if r.status_code != 200:
        print(f"GET {url}: HTTP {r.status_code}")
        return 1
    if r.headers.get("Content-Type", "").split(";")[0].strip() != "application/entity-statement+jwt":
        errors.append(f"media type {r.headers.get('Content-Type')!r}")
    try:
        ec = EntityConfiguration(r.text.strip())
        ec.validate_by_itself()
        validate_public_jwks(ec.jwks)
    except Exception as e:  # the library raises several kinds
        print(f"REFUSED by spid-cie-oidc: {type(e).__name__}: {e}")
        return 1
    p = ec.payload
    rp = (p.get("metadata") or {}).get("openid_relying_party") or {}
    for schema in (RPMetadataCie, RPMetadataSpid):
        try:
            schema(**rp)
        except ValidationError as e:
            errors.append(f"{schema.__name__}: {e}")
    try:
        validate_public_jwks((rp.get("jwks") or {}).get("keys") or [])
    except Exception as e:
        errors.append(f"openid_relying_party.jwks: {e}")
    now = int(time.time())
    if not (p.get("iss") == p.get("sub") == rp.get("client_id") == entity_id):
        errors.append("iss, sub and client_id must all be the entity id")
    if not (isinstance(p.get("iat"), int) and isinstance(p.get("exp"), int) and p["iat"] <= now + 300 < p["exp"] + 300):
        errors.append("iat/exp missing or not current")
    if not p.get("authority_hints"):
        errors.append("authority_hints is empty")
    if not (rp.get("jwks") or {}).get("keys") or any("use" not in k for k in rp["jwks"]["keys"]):
        errors.append("openid_relying_party.jwks needs keys, each with its use")
    if any(not u.startswith(entity_id.rstrip("/")) for u in rp.get("redirect_uris") or []):
        errors.append("a redirect URI is not under the entity id")
    uses = {k.get("use") for k in (rp.get("jwks") or {}).get("keys") or []}
    if rp.get("userinfo_encrypted_response_alg") and "enc" not in uses:
        errors.append("userinfo encryption announced without a key with use enc")
    if rp.get("token_endpoint_auth_method") != "private_key_jwt":
        errors.append("token_endpoint_auth_method must be private_key_jwt")
    for e in errors:
        print("ERROR:", e)
    if errors:
        return 1
    print(f"Entity Configuration of {ec.sub} valid (spid-cie-oidc: signature, jwks, RPMetadataCie, RPMetadataSpid)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
