//! The built-in provider rotations keyhound runs through [`super::recipe`]:
//! each provider's documented revoke, roll or create-then-revoke requests.
//! Every answer read here is recorded with its documentation in
//! `fixtures/rotation-answers/`, which the end-to-end tests serve.

use super::recipe::{Auth, Body, Call, Capture, Management, Pick, Recipe, Shape, BEARER, NO_AUTH};

const fn call(method: &'static str, path: &'static str, ok: &'static [u16]) -> Call {
    Call { method, path, body: Body::Empty, ok, gone: &[], pick: None, captures: &[] }
}

const fn base(name: &'static str, endpoint: &'static str, base_url: &'static str, shape: Shape, auth: Auth) -> Recipe {
    Recipe {
        name,
        endpoint,
        base_url,
        base_url_variable: None,
        shape,
        auth,
        management: None,
        management_required: false,
        lookup: None,
        create: None,
        new_key: ("", None),
        revoke: None,
        revoke_alone: true,
        new_id_companion: None,
        secret_id: None,
        describe: "",
        needs: "the exposed key itself",
        docs: "",
    }
}

/// `tskey-<kind>-<id>-<secret>`: the key's id is its third field.
fn tailscale_key_id(secret: &str) -> Option<String> {
    secret.split('-').nth(2).filter(|id| !id.is_empty()).map(str::to_string)
}

/// A Discord webhook URL's path (`/api/webhooks/<id>/<token>`), version segment dropped.
fn discord_webhook_path(secret: &str) -> Option<String> {
    let at = secret.find("/webhooks/")?;
    Some(format!("/api{}", &secret[at..]))
}

const DATADOG_AUTH: Auth =
    Auth { headers: &[("DD-API-KEY", "{secret}"), ("DD-APPLICATION-KEY", "{management}")], basic: None };

const TAILSCALE_MANAGEMENT: Management = Management {
    variable: "TAILSCALE_API_KEY",
    auth: Auth { headers: &[("Authorization", "Bearer {management}")], basic: None },
};

/// Every recipe; rule files name them in `[rules.rotate] action = "..."`.
pub static RECIPES: &[Recipe] = &[
    Recipe {
        lookup: Some(Call {
            captures: &[Capture { name: "id", pointer: "/token/id" }],
            gone: &[(401, None), (403, Some(("/error/invalidToken", "true")))],
            ..call("GET", "/v5/user/tokens/current", &[200])
        }),
        create: Some(Call {
            body: Body::Json(r#"{"name": "keyhound rotation"}"#),
            ..call("POST", "/v3/user/tokens", &[200, 201])
        }),
        new_key: ("/bearerToken", Some("/token/id")),
        revoke: Some(Call { gone: &[(404, None)], ..call("DELETE", "/v3/user/tokens/{id}", &[200, 204]) }),
        describe: "create a new token with the exposed one (POST /v3/user/tokens), deliver and check it, then delete \
                   the exposed token (DELETE /v3/user/tokens/ID)",
        docs: "https://vercel.com/docs/rest-api/authentication/delete-an-authentication-token",
        ..base("vercel-replace", "vercel", "https://api.vercel.com", Shape::Replace, BEARER)
    },
    Recipe {
        lookup: Some(Call {
            pick: Some(("/data", Pick::LastFour("/attributes/last4"))),
            captures: &[Capture { name: "id", pointer: "/id" }],
            ..call("GET", "/api/v2/api_keys?page%5Bsize%5D=100", &[200])
        }),
        create: Some(Call {
            body: Body::Json(r#"{"data": {"type": "api_keys", "attributes": {"name": "keyhound rotation"}}}"#),
            ..call("POST", "/api/v2/api_keys", &[200, 201])
        }),
        new_key: ("/data/attributes/key", Some("/data/id")),
        revoke: Some(Call { gone: &[(404, None)], ..call("DELETE", "/api/v2/api_keys/{id}", &[204]) }),
        management: Some(Management { variable: "DD_APP_KEY", auth: DATADOG_AUTH }),
        management_required: true,
        describe: "find the key by its last four characters (GET /api/v2/api_keys), create a new one, deliver and \
                   check it, then delete the exposed one (DELETE /api/v2/api_keys/ID)",
        needs: "an application key with api_keys_write and api_keys_delete in DD_APP_KEY",
        docs: "https://docs.datadoghq.com/api/latest/key-management/",
        ..base("datadog-replace", "datadog", "https://api.datadoghq.com", Shape::Replace, DATADOG_AUTH)
    },
    Recipe {
        lookup: Some(Call {
            captures: &[Capture { name: "token_path", pointer: "/data/links/auth-token" }],
            gone: &[(401, None)],
            ..call("GET", "/api/v2/account/details", &[200])
        }),
        revoke: Some(Call { gone: &[(404, None)], ..call("DELETE", "{raw:token_path}", &[204]) }),
        describe: "find the token's own link (GET /api/v2/account/details, data.links.auth-token) and delete it \
                   (DELETE /api/v2/authentication-tokens/ID)",
        docs: "https://developer.hashicorp.com/terraform/cloud-docs/api-docs/user-tokens",
        ..base("terraform-revoke", "terraform", "https://app.terraform.io", Shape::Revoke, BEARER)
    },
    Recipe {
        revoke: Some(Call { gone: &[(401, None)], ..call("DELETE", "/v2/access-token", &[204]) }),
        describe: "revoke the token with itself (DELETE /v2/access-token)",
        docs: "https://buildkite.com/docs/apis/rest-api/access-token",
        ..base("buildkite-revoke", "buildkite", "https://api.buildkite.com", Shape::Revoke, BEARER)
    },
    Recipe {
        revoke: Some(Call {
            body: Body::Json(r#"{"token": "{secret}"}"#),
            gone: &[(401, None)],
            ..call("POST", "/v3/auth/revoke", &[200, 204])
        }),
        describe: "revoke the token (POST /v3/auth/revoke with the token in the body)",
        docs: "https://docs.doppler.com/reference/auth-revoke",
        ..base("doppler-revoke", "doppler", "https://api.doppler.com", Shape::Revoke, NO_AUTH)
    },
    Recipe {
        revoke: Some(Call {
            body: Body::Form(&[("token", "{secret}")]),
            gone: &[(401, None)],
            ..call("POST", "/v1/oauth/revoke", &[200, 204])
        }),
        describe: "revoke the token with itself (POST cloud.digitalocean.com/v1/oauth/revoke)",
        docs: "https://docs.digitalocean.com/reference/api/oauth/",
        ..base("digitalocean-revoke", "digitalocean-oauth", "https://cloud.digitalocean.com", Shape::Revoke, BEARER)
    },
    Recipe {
        revoke: Some(Call { gone: &[(401, None), (403, None)], ..call("DELETE", "/tokens/self", &[204]) }),
        describe: "revoke the token with itself (DELETE /tokens/self)",
        docs: "https://www.fastly.com/documentation/reference/api/auth-tokens/user/",
        ..base(
            "fastly-revoke",
            "fastly",
            "https://api.fastly.com",
            Shape::Revoke,
            Auth { headers: &[("Fastly-Key", "{secret}")], basic: None },
        )
    },
    Recipe {
        revoke: Some(Call { gone: &[(401, None)], ..call("POST", "/2/auth/token/revoke", &[200]) }),
        describe: "revoke the token with itself (POST /2/auth/token/revoke; its refresh token goes too)",
        docs: "https://www.dropbox.com/developers/documentation/http/documentation#auth-token-revoke",
        ..base("dropbox-revoke", "dropbox", "https://api.dropboxapi.com", Shape::Revoke, BEARER)
    },
    Recipe {
        revoke: Some(Call { gone: &[(404, None), (401, None)], ..call("DELETE", "{raw:secret_id}", &[204]) }),
        secret_id: Some(discord_webhook_path),
        describe: "delete the webhook with its own URL (DELETE /api/webhooks/ID/TOKEN)",
        docs: "https://discord.com/developers/docs/resources/webhook#delete-webhook-with-token",
        ..base("discord-webhook-delete", "discord-webhook", "https://discord.com", Shape::Revoke, NO_AUTH)
    },
    Recipe {
        revoke: Some(Call {
            body: Body::Form(&[("token", "{secret}")]),
            gone: &[(400, Some(("/error", "invalid_token")))],
            ..call("POST", "/revoke", &[200])
        }),
        describe: "revoke the token (POST oauth2.googleapis.com/revoke; an access token's refresh token goes too)",
        docs: "https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke",
        ..base("google-oauth-revoke", "google", "https://oauth2.googleapis.com", Shape::Revoke, NO_AUTH)
    },
    Recipe {
        lookup: Some(Call {
            captures: &[Capture { name: "client_id", pointer: "/client_id" }],
            gone: &[(401, None)],
            ..call("GET", "/oauth2/validate", &[200])
        }),
        revoke: Some(Call {
            body: Body::Form(&[("client_id", "{client_id}"), ("token", "{secret}")]),
            gone: &[(400, Some(("/message", "Invalid token")))],
            ..call("POST", "/oauth2/revoke", &[200])
        }),
        describe: "find the token's client id (GET /oauth2/validate), then revoke it (POST /oauth2/revoke)",
        docs: "https://dev.twitch.tv/docs/authentication/revoke-tokens/",
        ..base(
            "twitch-revoke",
            "twitch",
            "https://id.twitch.tv",
            Shape::Revoke,
            Auth { headers: &[("Authorization", "OAuth {secret}")], basic: None },
        )
    },
    Recipe {
        revoke: Some(Call {
            gone: &[(401, Some(("/message", "API token invalid"))), (404, None)],
            ..call("DELETE", "/api/v2/tailnet/-/keys/{secret_id}", &[200, 204])
        }),
        management: Some(TAILSCALE_MANAGEMENT),
        secret_id: Some(tailscale_key_id),
        describe:
            "delete the key by the id it carries (DELETE /api/v2/tailnet/-/keys/ID), with TAILSCALE_API_KEY when \
                   set, else with itself",
        needs: "TAILSCALE_API_KEY, else the exposed API token itself",
        docs: "https://tailscale.com/kb/1101/api",
        ..base("tailscale-revoke", "tailscale", "https://api.tailscale.com", Shape::Revoke, BEARER)
    },
    Recipe {
        revoke: Some(Call {
            gone: &[(404, None)],
            ..call("DELETE", "/api/v2/tailnet/-/keys/{secret_id}", &[200, 204])
        }),
        management: Some(TAILSCALE_MANAGEMENT),
        management_required: true,
        secret_id: Some(tailscale_key_id),
        describe: "delete the auth key by the id it carries (DELETE /api/v2/tailnet/-/keys/ID) with TAILSCALE_API_KEY",
        needs: "TAILSCALE_API_KEY (an auth key cannot call the API)",
        docs: "https://tailscale.com/kb/1101/api",
        ..base("tailscale-auth-key-revoke", "tailscale", "https://api.tailscale.com", Shape::Revoke, NO_AUTH)
    },
    Recipe {
        lookup: Some(Call {
            pick: Some(("", Pick::Equals("/access_token/token"))),
            captures: &[Capture { name: "id", pointer: "/id" }],
            gone: &[(401, None)],
            ..call("GET", "/oauth/authorizations", &[200, 206])
        }),
        create: Some(call("POST", "/oauth/authorizations/{id}/actions/regenerate-tokens", &[200, 201])),
        new_key: ("/access_token/token", Some("/id")),
        revoke: Some(Call { gone: &[(404, None)], ..call("DELETE", "/oauth/authorizations/{id}", &[200, 204]) }),
        describe: "find the token's authorization (GET /oauth/authorizations) and regenerate it (POST \
                   .../actions/regenerate-tokens): Heroku issues a new token and the exposed one stops working",
        docs: "https://devcenter.heroku.com/articles/platform-api-reference#oauth-authorization",
        ..base(
            "heroku-regenerate",
            "heroku",
            "https://api.heroku.com",
            Shape::Roll,
            Auth {
                headers: &[("Authorization", "Bearer {secret}"), ("Accept", "application/vnd.heroku+json; version=3")],
                basic: None,
            },
        )
    },
    Recipe {
        lookup: Some(Call {
            pick: Some(("/data", Pick::PrefixOfKey("/token"))),
            captures: &[Capture { name: "id", pointer: "/id" }, Capture { name: "scopes", pointer: "/scopes" }],
            gone: &[(401, None)],
            ..call("GET", "/v4/profile/tokens?page_size=500", &[200])
        }),
        create: Some(Call {
            body: Body::Json(r#"{"label": "keyhound rotation", "scopes": "{json:scopes}"}"#),
            ..call("POST", "/v4/profile/tokens", &[200])
        }),
        new_key: ("/token", Some("/id")),
        revoke: Some(Call { gone: &[(404, None)], ..call("DELETE", "/v4/profile/tokens/{id}", &[200, 204]) }),
        describe: "find the token by its shown prefix (GET /v4/profile/tokens), create one with the same scopes, \
                   deliver and check it, then delete the exposed one (DELETE /v4/profile/tokens/ID)",
        docs: "https://techdocs.akamai.com/linode-api/reference/delete-personal-access-token",
        ..base("linode-replace", "linode", "https://api.linode.com", Shape::Replace, BEARER)
    },
    Recipe {
        lookup: Some(Call {
            captures: &[Capture { name: "id", pointer: "/result/id" }],
            gone: &[
                (400, Some(("/errors/0/code", "1000"))),
                (401, Some(("/errors/0/code", "1000"))),
                (403, Some(("/errors/0/code", "1000"))),
            ],
            ..call("GET", "/client/v4/user/tokens/verify", &[200])
        }),
        create: Some(Call { body: Body::Json("{}"), ..call("PUT", "/client/v4/user/tokens/{id}/value", &[200]) }),
        new_key: ("/result", None),
        revoke: Some(call("DELETE", "/client/v4/user/tokens/{id}", &[200])),
        management: Some(Management {
            variable: "CLOUDFLARE_API_TOKEN",
            auth: Auth { headers: &[("Authorization", "Bearer {management}")], basic: None },
        }),
        describe: "find the token's id (GET /user/tokens/verify) and roll it (PUT /user/tokens/ID/value): same \
                   permissions, new value, the exposed one stops working",
        needs: "a token with \"API Tokens Write\" in CLOUDFLARE_API_TOKEN, else the exposed token itself",
        docs: "https://developers.cloudflare.com/fundamentals/api/how-to/roll-token/",
        ..base("cloudflare-roll", "cloudflare", "https://api.cloudflare.com", Shape::Roll, BEARER)
    },
    Recipe {
        lookup: Some(Call {
            captures: &[Capture { name: "id", pointer: "/tokenId" }],
            gone: &[(401, None)],
            ..call("GET", "/api/v2/caller-identity", &[200])
        }),
        create: Some(call("POST", "/api/v2/tokens/{id}/reset", &[200])),
        new_key: ("/token", Some("/_id")),
        revoke: Some(Call { gone: &[(404, None)], ..call("DELETE", "/api/v2/tokens/{id}", &[204]) }),
        describe: "find the token's id (GET /api/v2/caller-identity) and reset it (POST /api/v2/tokens/ID/reset): \
                   new value, the exposed one expires at once",
        docs: "https://launchdarkly.com/docs/api/access-tokens/reset-token",
        ..base(
            "launchdarkly-reset",
            "launchdarkly",
            "https://app.launchdarkly.com",
            Shape::Roll,
            Auth { headers: &[("Authorization", "{secret}")], basic: None },
        )
    },
    Recipe {
        create: Some(Call {
            gone: &[(401, Some(("/code", "20003")))],
            ..call("POST", "/v1/AuthTokens/Secondary", &[200, 201])
        }),
        new_key: ("/secondary_auth_token", None),
        revoke: Some(Call {
            gone: &[(401, Some(("/code", "20003")))],
            ..call("POST", "/v1/AuthTokens/Promote", &[200])
        }),
        revoke_alone: false,
        describe: "create a secondary auth token (POST /v1/AuthTokens/Secondary), deliver and check it, then promote \
                   it (POST /v1/AuthTokens/Promote): the exposed primary stops working",
        needs: "the exposed auth token and its account SID (found next to it)",
        docs: "https://www.twilio.com/docs/iam/api/authtoken",
        ..base(
            "twilio-promote",
            "twilio-accounts",
            "https://accounts.twilio.com",
            Shape::Replace,
            Auth { headers: &[], basic: Some(("{companion:twilio-account-sid}", "{secret}")) },
        )
    },
    Recipe {
        create: Some(Call {
            body: Body::Json(r#"{"label": "keyhound rotation", "corsHeaders": []}"#),
            gone: &[(401, None)],
            ..call("POST", "/api/v1/accessKeys", &[200, 201])
        }),
        new_key: ("/key", Some("/id")),
        new_id_companion: Some("sumologic-access-id"),
        revoke: Some(Call {
            gone: &[(401, None), (404, None)],
            ..call("DELETE", "/api/v1/accessKeys/{companion:sumologic-access-id}", &[200, 204])
        }),
        describe: "create an access key (POST /api/v1/accessKeys), deliver and check it, then delete the exposed one \
                   by its access id (DELETE /api/v1/accessKeys/ID)",
        needs: "the exposed access key and its access id (found next to it)",
        docs: "https://help.sumologic.com/docs/api/access-keys/",
        ..base(
            "sumologic-replace",
            "sumologic",
            "https://api.sumologic.com",
            Shape::Replace,
            Auth { headers: &[], basic: Some(("{companion:sumologic-access-id}", "{secret}")) },
        )
    },
    Recipe {
        revoke: Some(Call {
            gone: &[(400, Some(("/error/code", "190"))), (401, Some(("/error/code", "190")))],
            ..call("DELETE", "/me/permissions", &[200])
        }),
        describe: "de-authorize the app for the token's user (DELETE /me/permissions), which ends the token",
        docs: "https://developers.facebook.com/docs/graph-api/reference/user/permissions/",
        ..base("facebook-deauthorize", "facebook", "https://graph.facebook.com", Shape::Revoke, BEARER)
    },
    Recipe {
        lookup: Some(Call {
            captures: &[
                Capture { name: "user", pointer: "/token/user" },
                Capture { name: "id", pointer: "/token/authorization" },
            ],
            gone: &[
                (200, Some(("/code", "TokenRevoked"))),
                (200, Some(("/code", "TokenInvalid"))),
                (200, Some(("/code", "TokenExpired"))),
                (401, None),
            ],
            ..call("GET", "/tokens/v2?access_token={secret}", &[200])
        }),
        revoke: Some(Call {
            gone: &[(404, Some(("/message", "Token not found")))],
            ..call("DELETE", "/tokens/v2/{user}/{id}?access_token={credential}", &[204])
        }),
        describe: "find the token's id (GET /tokens/v2) and delete it (DELETE /tokens/v2/USER/ID), with \
                   MAPBOX_ACCESS_TOKEN (tokens:write) when set, else with itself",
        needs: "a token with tokens:write in MAPBOX_ACCESS_TOKEN, else the exposed token itself",
        management: Some(Management { variable: "MAPBOX_ACCESS_TOKEN", auth: NO_AUTH }),
        docs: "https://docs.mapbox.com/api/accounts/tokens/",
        ..base("mapbox-delete", "mapbox", "https://api.mapbox.com", Shape::Revoke, NO_AUTH)
    },
    Recipe {
        lookup: Some(Call {
            gone: &[(403, Some(("/errors/0", "permission denied"))), (403, Some(("/errors/0", "invalid token")))],
            ..call("GET", "/v1/auth/token/lookup-self", &[200])
        }),
        revoke: Some(call("POST", "/v1/auth/token/revoke-self", &[200, 204])),
        base_url_variable: Some("VAULT_ADDR"),
        describe: "revoke the token with itself (POST /v1/auth/token/revoke-self; its child tokens and leases go too)",
        needs: "the Vault server's address (--endpoint vault=URL or VAULT_ADDR)",
        docs: "https://developer.hashicorp.com/vault/api-docs/auth/token#revoke-a-token-self",
        ..base(
            "vault-revoke-self",
            "vault",
            "",
            Shape::Revoke,
            Auth { headers: &[("X-Vault-Token", "{secret}")], basic: None },
        )
    },
    Recipe {
        revoke: Some(Call {
            gone: &[(401, Some(("/errorCode", "E0000011")))],
            ..call("DELETE", "/api/v1/api-tokens/current", &[204])
        }),
        base_url_variable: Some("OKTA_ORG_URL"),
        describe: "revoke the token with itself (DELETE /api/v1/api-tokens/current)",
        needs: "the Okta org's address (--endpoint okta=https://ORG.okta.com or OKTA_ORG_URL)",
        docs: "https://developer.okta.com/docs/api/openapi/okta-management/management/tag/ApiToken/",
        ..base(
            "okta-revoke-self",
            "okta",
            "",
            Shape::Revoke,
            Auth { headers: &[("Authorization", "SSWS {secret}")], basic: None },
        )
    },
];

/// The recipe named `name`.
pub fn find(name: &str) -> Option<(usize, &'static Recipe)> {
    RECIPES.iter().enumerate().find(|(_, recipe)| recipe.name == name)
}
