// A real OpenID Provider for the tests: the certified `oidc-provider` package, on a
// loopback port, with one confidential client and a few directory people. Usage:
//   node end2end/oidc/provider.mjs PORT REDIRECT_URI [REDIRECT_URI…]
// Prints "ready ISSUER" on stdout once it listens. The client secret comes from
// OIDC_CLIENT_SECRET (default "test-client-secret"). Sign-in uses the package's
// development interactions: the login form takes the person's email; any password.
// With OIDC_VOUCH_FOR_ANYONE=1 it is a hostile directory, as an administrator of some
// account could run: it signs in anyone as whatever email is typed, verified.
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.argv[2] ?? 4400);
const redirectUris = process.argv.slice(3);
const issuer = `http://127.0.0.1:${port}`;

// The directory: people of partner.test (members and a non-member) and of other.test.
const people = {
  "sso-admin@partner.test": "Ada Admin",
  "sso-member@partner.test": "Sam Member",
  "sso-mfa@partner.test": "Mia Mfa",
  "sso-stranger@partner.test": "Stan Stranger",
  "sso-user@other.test": "Otto Other",
  // Globex's directory, which also knows Ada: a person who belongs to other accounts too
  // (the cross-account tests).
  "ada@globex.test": "Ada Lovelace",
};

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: "test-key-1", alg: "RS256", use: "sig" };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "connect-portal",
      client_secret: process.env.OIDC_CLIENT_SECRET ?? "test-client-secret",
      redirect_uris: redirectUris.length ? redirectUris : ["http://127.0.0.1:3300/sso/callback"],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "RS256",
    },
  ],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  scopes: ["openid", "email", "profile"],
  features: { devInteractions: { enabled: true } },
  // Grant the test client what it asks for, so no consent screen interrupts the tests.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile");
    grant.addOIDCClaims(["email", "email_verified", "name"]);
    await grant.save();
    return grant;
  },
  async findAccount(_ctx, id) {
    const email = String(id).toLowerCase();
    const anyone = process.env.OIDC_VOUCH_FOR_ANYONE === "1";
    if (!(email in people) && !anyone) return undefined;
    return {
      accountId: email,
      async claims() {
        return { sub: email, email, email_verified: true, name: people[email] ?? email };
      },
    };
  },
  ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, IdToken: 300, AccessToken: 300 },
});
provider.proxy = false;

// Exit with the process that started us (its end closes our stdin).
if (process.env.OIDC_EXIT_ON_STDIN_END) {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}

provider.listen(port, "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
