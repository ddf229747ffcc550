#!/usr/bin/env python3
"""A SAML2 identity provider for the browser tests, built on pysaml2 (a third-party SAML
implementation, not ours).

    saml-idp.py metadata BASE_URL DIR          writes DIR/idp.key, DIR/idp.crt, DIR/idp-metadata.xml
    saml-idp.py serve BASE_URL DIR SP_METADATA  serves BASE_URL (127.0.0.1:port)

It answers an AuthnRequest (HTTP-Redirect binding) with a login form where the tester types the
person's codice fiscale and name, then posts a Response (Response and Assertion signed, RSA-SHA256)
to the service provider's assertion consumer service, at level SpidL2, with a transient NameID."""

import html
import os
import subprocess
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_TRANSIENT, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256


def config(base, directory, sp_metadata=None):
    c = {
        "entityid": base + "/metadata",
        "service": {
            "idp": {
                "name": "IdP di prova (pysaml2)",
                "endpoints": {
                    "single_sign_on_service": [(base + "/sso", BINDING_HTTP_REDIRECT)],
                },
                "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                "policy": {
                    "default": {
                        "lifetime": {"minutes": 5},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_BASIC,
                    }
                },
                "sign_response": True,
                "sign_assertion": True,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
                "want_authn_requests_signed": False,
            }
        },
        "key_file": os.path.join(directory, "idp.key"),
        "cert_file": os.path.join(directory, "idp.crt"),
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "organization": {
            "name": [("IdP di prova (pysaml2)", "it")],
            "display_name": [("IdP di prova (pysaml2)", "it")],
            "url": [(base, "it")],
        },
    }
    if sp_metadata:
        c["metadata"] = {"local": [sp_metadata]}
    cfg = IdPConfig()
    cfg.load(c)
    return cfg


def write_metadata(base, directory):
    key, crt = os.path.join(directory, "idp.key"), os.path.join(directory, "idp.crt")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
         "-subj", "/CN=idp-di-prova", "-keyout", key, "-out", crt],
        check=True, capture_output=True,
    )
    xml = create_metadata_string(None, config(base, directory), sign=False)
    with open(os.path.join(directory, "idp-metadata.xml"), "wb") as f:
        f.write(xml if isinstance(xml, bytes) else xml.encode())


FORM = """<!doctype html><html lang="it"><head><meta charset="utf-8"><title>IdP di prova</title></head>
<body><h1>IdP di prova (pysaml2)</h1>
<form method="post" action="/login">
<input type="hidden" name="SAMLRequest" value="{req}"><input type="hidden" name="RelayState" value="{relay}">
<label>Codice fiscale <input name="cf" id="cf"></label>
<label>Nome <input name="name" id="name"></label>
<label>Cognome <input name="surname" id="surname"></label>
<button type="submit" id="accedi">Accedi</button></form></body></html>"""


def serve(base, directory, sp_metadata):
    server = Server(config=config(base, directory, sp_metadata))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body, ctype="text/html; charset=utf-8"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/health":
                return self.answer(200, "ok", "text/plain")
            if url.path != "/sso" or "SAMLRequest" not in q:
                return self.answer(404, "not found", "text/plain")
            self.answer(200, FORM.format(req=html.escape(q["SAMLRequest"]), relay=html.escape(q.get("RelayState", ""))))

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            request = server.parse_authn_request(form["SAMLRequest"], BINDING_HTTP_REDIRECT)
            args = server.response_args(request.message, [BINDING_HTTP_POST])
            cf = form["cf"].strip().upper()
            identity = {
                "fiscalNumber": ["TINIT-" + cf],
                "name": [form.get("name", "")],
                "familyName": [form.get("surname", "")],
                "email": [cf.lower() + "@idp-di-prova.example"],
            }
            response = server.create_authn_response(
                identity,
                userid=cf,
                name_id=NameID(format=NAMEID_FORMAT_TRANSIENT, name_qualifier=server.config.entityid,
                               text="_" + os.urandom(16).hex()),
                authn={"class_ref": "https://www.spid.gov.it/SpidL2", "authn_auth": server.config.entityid},
                sign_response=True,
                sign_assertion=True,
                sign_alg=SIG_RSA_SHA256,
                digest_alg=DIGEST_SHA256,
                **args,
            )
            http_args = server.apply_binding(BINDING_HTTP_POST, str(response), args["destination"],
                                             form.get("RelayState", ""), response=True)
            self.answer(200, http_args["data"])

    port = int(urllib.parse.urlparse(base).port)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    mode, base, directory = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    if mode == "metadata":
        write_metadata(base, directory)
    else:
        serve(base, directory, sys.argv[4])
