// A throwaway OpenID Provider for the server's OIDC tests (sso-and-mfa §5.1): panva's
// oidc-provider on loopback, a few fixed users, a plain HTML login form, and a "tamper" mode
// that rewrites the ID token in the token endpoint's answer so the server's checks can be
// tried against bad tokens over real HTTP.
//
// Environment:
//   OP_PORT      port on 127.0.0.1 (required)
//   OP_REDIRECT  the client's redirect URIs, comma separated (required)
//   OP_TAMPER    optional: payload | signature | none | hs256 | otherkey | aud | azp |
//                expired | iat_future | nonce | iss | crit
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const PORT = Number(process.env.OP_PORT);
const ISSUER = `http://127.0.0.1:${PORT}`;
const REDIRECTS = (process.env.OP_REDIRECT || '').split(',').filter(Boolean);
const TAMPER = process.env.OP_TAMPER || '';
const CLIENT_SECRET = 'cvat-secret-0123456789abcdef0123456789';
const PASSWORD = 'op-password';

const USERS = {
  'u-alice': { sub: 'u-alice', email: 'alice@example.test', email_verified: true,
    preferred_username: 'alice', given_name: 'Alice', family_name: 'Admin', groups: ['CVAT-Admins'] },
  'u-mallory': { sub: 'u-mallory', email: 'carol@example.com', email_verified: false,
    preferred_username: 'mallory', given_name: 'Mal', family_name: 'Lory', groups: [] },
  'u-carol': { sub: 'u-carol', email: 'carol@example.com', email_verified: true,
    preferred_username: 'carol-sso', given_name: 'Carol', family_name: 'Linked', groups: ['workers'] },
  'u-bobby': { sub: 'u-bobby', email: 'bobby@example.test', email_verified: true,
    preferred_username: 'bobby', given_name: 'Bobby', family_name: 'Plain', groups: [] },
};
const byName = (name) => Object.keys(USERS).find((s) => USERS[s].preferred_username === name);

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', use: 'sig', alg: 'RS256' };
const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: 'cvat', client_secret: CLIENT_SECRET, redirect_uris: REDIRECTS,
    grant_types: ['authorization_code'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'],
    profile: ['preferred_username', 'given_name', 'family_name'], groups: ['groups'] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: ['test-only-cookie-key'] },
  findAccount: async (ctx, id) => USERS[id] && { accountId: id, claims: async () => USERS[id] },
});

const b64u = (b) => Buffer.from(b).toString('base64url');
const unb64 = (s) => JSON.parse(Buffer.from(s, 'base64url').toString());
const rsSign = (key, header, payload) => {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  return `${input}.${b64u(crypto.sign('sha256', Buffer.from(input), key))}`;
};

function tamper(token) {
  const [h, p, s] = token.split('.');
  const header = unb64(h);
  const claims = unb64(p);
  const now = Math.floor(Date.now() / 1000);
  const resign = (change) => rsSign(privateKey, header, { ...claims, ...change });
  switch (TAMPER) {
    case 'payload': return `${h}.${b64u(JSON.stringify({ ...claims, sub: 'u-alice', groups: ['CVAT-Admins'] }))}.${s}`;
    case 'signature': return `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    case 'none': return `${b64u(JSON.stringify({ alg: 'none' }))}.${p}.`;
    case 'hs256': {
      const input = `${b64u(JSON.stringify({ alg: 'HS256', kid: header.kid }))}.${p}`;
      return `${input}.${b64u(crypto.createHmac('sha256', CLIENT_SECRET).update(input).digest())}`;
    }
    case 'otherkey': return rsSign(other, header, claims);
    case 'aud': return resign({ aud: 'someone-else' });
    case 'azp': return resign({ aud: ['cvat', 'someone-else'], azp: 'someone-else' });
    case 'expired': return resign({ exp: now - 120, iat: now - 3600 });
    case 'iat_future': return resign({ iat: now + 3600, exp: now + 7200 });
    case 'nonce': return resign({ nonce: 'another-flows-nonce' });
    case 'iss': return resign({ iss: `${ISSUER}/` });
    case 'crit': return rsSign(privateKey, { ...header, crit: ['x-unknown'], 'x-unknown': 1 }, claims);
    default: return token;
  }
}

const readForm = (req) => new Promise((resolve) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => resolve(new URLSearchParams(body)));
});

provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (m && ctx.method === 'GET' && !m[2]) {
    const d = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Test OP</title><form method="post" action="/interaction/${d.uid}/login">`
      + `<input name="login" value="${d.params.login_hint || ''}"><input name="password" type="password">`
      + '<button>Sign in</button></form>';
    return undefined;
  }
  if (m && ctx.method === 'POST' && m[2]) {
    const d = await provider.interactionDetails(ctx.req, ctx.res);
    const form = await readForm(ctx.req);
    const accountId = byName(form.get('login'));
    if (!accountId || form.get('password') !== PASSWORD) {
      ctx.status = 401;
      ctx.body = 'wrong login or password';
      return undefined;
    }
    const grant = new provider.Grant({ accountId, clientId: d.params.client_id });
    grant.addOIDCScope(d.params.scope);
    const grantId = await grant.save();
    return provider.interactionFinished(ctx.req, ctx.res,
      { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }
  await next();
  if (TAMPER && ctx.path === '/token' && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token) };
  }
  return undefined;
});

provider.listen(PORT, '127.0.0.1', () => console.log(`OP ready ${ISSUER}`));
