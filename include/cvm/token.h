/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Result tokens: a compact JWS (RFC 7515) signed with ES256 (ECDSA P-256 / SHA-256) over the
 * appraisal's outcome, so the guest (and whoever it shows the token to) can prove what cvmd
 * decided. The daemon publishes the verification keys (JWKS); cvmctl uses an ephemeral key
 * unless given one. */

#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdint.h>

/* The result token's EAT profile (the EAT Attestation Results draft) and its default lifetime. */
#define TOKEN_EAT_PROFILE "tag:github.com,2023:veraison/ear"
#define TOKEN_LIFETIME_DEFAULT (30 * 60)

/* Signs `claims` (a JSON object) into "<header>.<payload>.<signature>", base64url without
 * padding. key must be an EC P-256 private key. */
int token_sign(EVP_PKEY *key, const char *kid, json_object *claims, char **ret);
/* Verifies a token's ES256 signature with key and returns its claims. -EBADMSG when it does not
 * verify or is malformed. */
int token_verify(EVP_PKEY *key, const char *token, json_object **ret_claims);
/* A fresh P-256 key. */
int token_key_generate(EVP_PKEY **ret);
/* The key's RFC 7638 JWK thumbprint: base64url of SHA-256 over
 * {"crv":"P-256","kty":"EC","x":..,"y":..}; anyone holding the public key can recompute it. */
int token_key_id(EVP_PKEY *key, char **ret);
/* The public half of a P-256 key as a JWK (RFC 7517/7518): kty, crv, x, y, kid (as
 * token_key_id), alg "ES256", use "sig". Never carries the private scalar. */
int token_jwk(EVP_PKEY *key, json_object **ret);
