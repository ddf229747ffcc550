// A real OpenID Connect provider for the browser tests: node's oidc-provider (panva), configured as
// CIE's OIDC asks of a relying party — PKCE required, private_key_jwt with the keys ordo publishes at
// /oidc/jwks.json, signed request objects accepted — with its own development login and consent
// pages (any account id: the tests type a codice fiscale, which becomes the fiscal-number claim).
import Provider from 'oidc-provider';

export const FISCAL_CLAIM = 'https://attributes.eid.gov.it/fiscal_number';

export async function startProvider({ port, ordoUrl }) {
  const issuer = `http://127.0.0.1:${port}`;
  // The relying party's public keys, as ordo publishes them (registered with the client, as a
  // federation's trust chain would carry them).
  const jwks = await (await fetch(`${ordoUrl}/oidc/jwks.json`)).json();
  if (!jwks.keys?.length) throw new Error('ordo published no OIDC key');
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'ordo',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'RS256',
        request_object_signing_alg: 'RS256',
        jwks,
        redirect_uris: [`${ordoUrl}/oidc/callback`],
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      requestObjects: { enabled: true },
    },
    acrValues: ['https://www.spid.gov.it/SpidL2'],
    claims: {
      openid: ['sub'],
      profile: ['given_name', 'family_name', FISCAL_CLAIM],
      email: ['email'],
    },
    // The claims of the scopes go into the ID token (ordo reads the ID token, not userinfo).
    conformIdTokenClaims: false,
    async findAccount(_ctx, id) {
      const cf = String(id).trim().toUpperCase();
      return {
        accountId: cf,
        async claims() {
          return {
            sub: cf,
            given_name: 'Carla',
            family_name: 'Prova',
            email: `${cf.toLowerCase()}@oidc-di-prova.example`,
            [FISCAL_CLAIM]: `TINIT-${cf}`,
          };
        },
      };
    },
  });
  const server = await new Promise((resolve) => {
    const s = provider.listen(port, '127.0.0.1', () => resolve(s));
  });
  return { issuer, close: () => new Promise((resolve) => server.close(resolve)) };
}
