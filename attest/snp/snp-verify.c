/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP verification (spec §12): structure, ARK pin, RSA-PSS chain, validity at the given
 * time, CRL, TCB and chip-ID binding of the leaf, and the report's ECDSA P-384 signature.
 * Every check is recorded; the report is authentic only if every required check passed. */
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "cvm/crypto.h"
#include "cvm/snp.h"
#include "cvm/util.h"
#include "cvm/x509-cache.h"

static void skipped(VerdictRun *c, const char *name, const char *why) {
        verdict_check(c->v, name, CHECK_SKIP, "%s", why);
}

static const char *validity_words(Validity val) {
        return val == VALIDITY_NOT_YET_VALID ? "is not yet valid" : "has expired";
}

/* Checks one certificate's validity window at `at`; false with a reason when outside. */
static bool cert_valid_at(X509 *cert, const char *role, int64_t at, char *buf, size_t size) {
        Validity val = x509_validity_at(cert, at);
        char nb[32] = "?", na[32] = "?";
        int64_t t;

        if (val == VALIDITY_OK)
                return true;
        if (x509_not_before(cert, &t) >= 0)
                format_rfc3339(t, nb, sizeof(nb));
        if (x509_not_after(cert, &t) >= 0)
                format_rfc3339(t, na, sizeof(na));
        snprintf(buf, size, "%s %s (valid %s to %s)", role, validity_words(val), nb, na);
        return false;
}

/* Signature of `cert` by `issuer`, with AMD's profile: RSASSA-PSS with SHA-384 and the issuer
 * named by the subject. Returns NULL on success, else a static reason. */
static const char *check_link(X509 *cert, X509 *issuer) {
        if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0)
                return "issuer name does not match the signer's subject";
        if (!x509_sig_is_rsa_pss_sha384(cert))
                return "signature algorithm is not RSASSA-PSS with SHA-384";
        if (x509_signed_by(cert, X509_get0_pubkey(issuer)) != 1)
                return "signature does not verify";
        return NULL;
}

/* The chain object keeps its own result (-1: not computed; 1: verified; a failure is recomputed
 * for its reason, rarely); a new chain object made from the same certificate bytes finds the
 * result in the process's verified cache (include/cvm/verified-cache.h) for as long as both
 * certificates are valid. */
static const char *cached_link(int *cache, X509 *cert, X509 *issuer, int64_t at) {
        const char *why;

        if (*cache == 1)
                return NULL;
        if (x509_link_known("snp-link", cert, issuer, at)) {
                *cache = 1;
                return NULL;
        }
        why = check_link(cert, issuer);
        *cache = why ? 0 : 1;
        if (!why)
                x509_link_remember("snp-link", cert, issuer);
        return why;
}

static void verify_product(VerdictRun *c, SnpChain *chain, SnpReport *r, SnpCertRole leaf_role, bool *ret_known,
                           SnpProduct *ret_product) {
        SnpProduct inter_product = _SNP_PRODUCT_INVALID, ark_product = _SNP_PRODUCT_INVALID, cpu_product;
        X509 *inter = snp_chain_intermediate(chain), *ark = chain->cert[SNP_ROLE_ARK];
        int k;

        *ret_known = false;
        if (inter)
                (void) snp_cert_identify(inter, &inter_product);
        if (ark)
                (void) snp_cert_identify(ark, &ark_product);

        k = snp_report_product(r, &cpu_product);
        if (k == -EOPNOTSUPP)
                return verdict_fail(c, "product",
                              "CPUID family 0x%02x model 0x%02x is not a product with an AMD certificate chain "
                              "(Milan, Genoa, Turin)",
                              r->cpuid_fam_id, r->cpuid_mod_id);
        if (k < 0) {
                /* v2: the report does not say; the certificates do. */
                if (inter_product < 0)
                        return verdict_fail(c, "product",
                                      "version 2 reports carry no CPUID and no ASK/ASVK names the product");
                cpu_product = inter_product;
        }
        if (inter_product >= 0 && inter_product != cpu_product)
                return verdict_fail(c, "product", "report is from a %s CPU but the %s is for %s",
                              snp_product_to_string(cpu_product), leaf_role == SNP_ROLE_VLEK ? "ASVK" : "ASK",
                              snp_product_to_string(inter_product));
        if (ark_product >= 0 && ark_product != cpu_product)
                return verdict_fail(c, "product", "report is from a %s CPU but the ARK is for %s",
                              snp_product_to_string(cpu_product), snp_product_to_string(ark_product));
        if (chain->leaf_info_ok && chain->leaf_info.product_name[0] &&
            strncasecmp(chain->leaf_info.product_name, snp_product_to_string(cpu_product),
                        strlen(snp_product_to_string(cpu_product))) != 0)
                return verdict_fail(c, "product", "leaf productName '%s' is not %s", chain->leaf_info.product_name,
                              snp_product_to_string(cpu_product));

        /* A v2 report's TCB layout was guessed from CHIP_ID; the product settles it. */
        if ((cpu_product == SNP_PRODUCT_TURIN) != r->reported_tcb.turin)
                snp_report_set_turin(r, cpu_product == SNP_PRODUCT_TURIN);

        *ret_known = true;
        *ret_product = cpu_product;
        if (k < 0)
                verdict_pass(c, "product", "%s (named by the certificates; version 2 reports carry no CPUID)",
                     snp_product_to_string(cpu_product));
        else
                verdict_pass(c, "product", "%s (CPUID family 0x%02x model 0x%02x stepping %u)",
                     snp_product_to_string(cpu_product), r->cpuid_fam_id, r->cpuid_mod_id, r->cpuid_step);
}

static void verify_ark_pin(VerdictRun *c, SnpChain *chain, SnpProduct product, const SnpVerifyParams *p) {
        X509 *ark = chain->cert[SNP_ROLE_ARK];
        _cleanup_free_ char *hex = NULL;

        if (!chain->ark_digest_ok) {
                if (x509_spki_sha256(ark, chain->ark_digest) < 0)
                        return verdict_fail(c, "chain.ark-pinned", "ARK public key cannot be encoded");
                chain->ark_digest_ok = true;
        }
        for (size_t i = 0; i < p->n_anchors; i++)
                if (p->anchors[i].product == product && memcmp(p->anchors[i].spki_sha256, chain->ark_digest, 32) == 0)
                        return verdict_pass(c, "chain.ark-pinned", "ARK key matches the pinned %s",
                                    p->anchors[i].label ? p->anchors[i].label : "anchor");
        hex = hex_encode(chain->ark_digest, 32);
        verdict_fail(c, "chain.ark-pinned", "ARK public key (SHA-256 %s) is not a trusted %s root", hex ? hex : "?",
               snp_product_to_string(product));
}

static void verify_chain_signatures(VerdictRun *c, SnpChain *chain, X509 *leaf, X509 *inter, X509 *ark, int64_t at) {
        const char *why;

        why = cached_link(&chain->link_ark, ark, ark, at);
        if (why)
                verdict_fail(c, "chain.ark-signature", "ARK self-signature: %s", why);
        else if (X509_check_ca(ark) < 1)
                verdict_fail(c, "chain.ark-signature", "ARK is not a CA certificate");
        else
                verdict_pass(c, "chain.ark-signature", "ARK is self-signed (RSASSA-PSS SHA-384)");

        why = cached_link(&chain->link_intermediate, inter, ark, at);
        if (why)
                verdict_fail(c, "chain.intermediate-signature", "ARK over the intermediate: %s", why);
        else if (X509_check_ca(inter) < 1)
                verdict_fail(c, "chain.intermediate-signature", "intermediate is not a CA certificate");
        else
                verdict_pass(c, "chain.intermediate-signature", "ARK signed the intermediate (RSASSA-PSS SHA-384)");

        why = cached_link(&chain->link_leaf, leaf, inter, at);
        if (why)
                verdict_fail(c, "chain.leaf-signature", "intermediate over the leaf: %s", why);
        else
                verdict_pass(c, "chain.leaf-signature", "intermediate signed the leaf (RSASSA-PSS SHA-384)");
}

static void verify_validity(VerdictRun *c, X509 *leaf, const char *leaf_name, X509 *inter, const char *inter_name, X509 *ark,
                            int64_t at) {
        char why[160], t[32];

        if (!cert_valid_at(ark, "ARK", at, why, sizeof(why)) ||
            !cert_valid_at(inter, inter_name, at, why, sizeof(why)) ||
            !cert_valid_at(leaf, leaf_name, at, why, sizeof(why)))
                return verdict_fail(c, "chain.validity", "at %s: %s", format_rfc3339(at, t, sizeof(t)), why);
        verdict_pass(c, "chain.validity", "every certificate is valid at %s", format_rfc3339(at, t, sizeof(t)));
}

/* Whether the ARK's CRL revokes the leaf. AMD publishes one CRL per product and key kind
 * (/vcek/v1/{product}/crl, /vlek/...), signed by the ARK, for the whole hierarchy below it; a
 * leaf is listed either by an indirect entry naming its issuer (RFC 5280 §5.3.3: OpenSSL
 * matches it against the leaf's issuer) or, as go-sev-guest checks it, by its serial number in
 * a direct entry. Both revoke. */
static bool leaf_revoked(X509_CRL *crl, X509 *leaf) {
        X509_REVOKED *rev = NULL;

        if (X509_CRL_get0_by_cert(crl, &rev, leaf) == 1)
                return true;
        rev = NULL;
        return X509_CRL_get0_by_serial(crl, &rev, X509_get_serialNumber(leaf)) == 1;
}

static void verify_revocation(VerdictRun *c, SnpChain *chain, X509 *leaf, X509 *inter, X509 *ark,
                              const SnpVerifyParams *p, bool *ret_checked) {
        X509_CRL *crl = chain->crl;
        X509_REVOKED *rev = NULL;
        int64_t this_update, next_update;
        char t1[32], t2[32];

        *ret_checked = false;
        if (!crl) {
                if (p->require_crl)
                        return verdict_fail(c, "chain.revocation", "no CRL was given and one is required");
                return skipped(c, "chain.revocation", "no CRL given (--crl, the certificate table or KDS)");
        }
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)) != 0)
                return verdict_fail(c, "chain.revocation", "CRL is not issued by the ARK");
        if (chain->crl_signature < 0 && x509_crl_link_known("snp-crl", crl, ark, p->at))
                chain->crl_signature = 1;
        if (chain->crl_signature < 0) {
                int k = X509_CRL_verify(crl, X509_get0_pubkey(ark));
                openssl_clear_errors();
                chain->crl_signature = k == 1;
                if (k == 1)
                        x509_crl_link_remember("snp-crl", crl, ark);
        }
        if (!chain->crl_signature)
                return verdict_fail(c, "chain.revocation", "CRL signature does not verify with the ARK key");
        if (asn1_time_to_unix(X509_CRL_get0_lastUpdate(crl), &this_update) < 0 || !X509_CRL_get0_nextUpdate(crl) ||
            asn1_time_to_unix(X509_CRL_get0_nextUpdate(crl), &next_update) < 0)
                return verdict_fail(c, "chain.revocation", "CRL lacks a readable thisUpdate/nextUpdate");
        if (p->at < this_update || p->at > next_update)
                return verdict_fail(c, "chain.revocation", "CRL is not current at the verification time (%s to %s)",
                              format_rfc3339(this_update, t1, sizeof(t1)), format_rfc3339(next_update, t2, sizeof(t2)));
        if (X509_CRL_get0_by_cert(crl, &rev, inter) == 1) {
                _cleanup_free_ char *cn = x509_subject_cn(inter);
                return verdict_fail(c, "chain.revocation", "%s is revoked by the ARK's CRL", cn ? cn : "intermediate");
        }
        if (leaf_revoked(crl, leaf)) {
                _cleanup_free_ char *cn = x509_subject_cn(leaf);
                return verdict_fail(c, "chain.revocation", "the %s leaf is revoked by the ARK's CRL", cn ? cn : "signing");
        }
        *ret_checked = true;
        verdict_pass(c, "chain.revocation", "neither the intermediate nor the leaf is revoked (CRL %s, next update %s)",
             format_rfc3339(this_update, t1, sizeof(t1)), format_rfc3339(next_update, t2, sizeof(t2)));
}

static void verify_tcb_binding(VerdictRun *c, const SnpLeafInfo *li, const SnpTcb *t, bool turin) {
        char diff[256] = "";
        size_t n = 0;
        const struct {
                const char *name;
                int spl;
                int tcb;
        } f[] = {
                {"blSPL", li->bl_spl, t->bl},
                {"teeSPL", li->tee_spl, t->tee},
                {"snpSPL", li->snp_spl, t->snp},
                {"ucodeSPL", li->ucode_spl, t->ucode},
                {"fmcSPL", li->fmc_spl, turin ? t->fmc : -1},
        };

        for (size_t i = 0; i < ELEMENTSOF(f); i++) {
                char spl[16] = "absent", tcb[16] = "none";

                if (f[i].spl == f[i].tcb || n >= sizeof(diff))
                        continue;
                if (f[i].spl >= 0)
                        snprintf(spl, sizeof(spl), "%d", f[i].spl);
                if (f[i].tcb >= 0)
                        snprintf(tcb, sizeof(tcb), "%d", f[i].tcb);
                n += (size_t) snprintf(diff + n, sizeof(diff) - n, "%sleaf %s is %s, REPORTED_TCB has %s",
                                       n ? "; " : "", f[i].name, spl, tcb);
        }
        if (n > 0)
                return verdict_fail(c, "tcb.binding", "%s", diff);
        if (turin)
                verdict_pass(c, "tcb.binding", "leaf SPLs equal REPORTED_TCB (fmc %d bl %d tee %d snp %d ucode %d)", t->fmc,
                     t->bl, t->tee, t->snp, t->ucode);
        else
                verdict_pass(c, "tcb.binding", "leaf SPLs equal REPORTED_TCB (bl %d tee %d snp %d ucode %d)", t->bl, t->tee,
                     t->snp, t->ucode);
}

static void verify_chip_id(VerdictRun *c, const SnpLeafInfo *li, const SnpReport *r, SnpCertRole leaf_role, bool turin) {
        size_t want = turin ? 8 : 64;

        if (leaf_role == SNP_ROLE_VLEK) {
                if (li->hwid_size > 0)
                        return verdict_fail(c, "chip-id.binding", "a VLEK must not carry a hwID");
                return skipped(c, "chip-id.binding", "VLEK certificates carry no hwID; nothing to bind");
        }
        if (li->hwid_size != want)
                return verdict_fail(c, "chip-id.binding", "VCEK hwID has %zu bytes; %s uses %zu", li->hwid_size,
                              turin ? "Turin" : "Milan/Genoa", want);
        if (memcmp(li->hwid, r->chip_id, want) != 0)
                return verdict_fail(c, "chip-id.binding", "VCEK hwID differs from CHIP_ID%s", turin ? "[0:8]" : "");
        verdict_pass(c, "chip-id.binding", "VCEK hwID equals CHIP_ID%s", turin ? "[0:8]" : "");
}

static void verify_report_signature(VerdictRun *c, const SnpReport *r, X509 *leaf) {
        _cleanup_(BN_freep) BIGNUM *br = NULL, *bs = NULL;
        EVP_PKEY *key = X509_get0_pubkey(leaf);
        uint8_t digest[SHA384_DIGEST_LENGTH];
        int k;

        if (!pkey_is_ec_curve(key, NID_secp384r1))
                return verdict_fail(c, "report.signature", "leaf key is not an EC P-384 key");
        sha384(r->raw, SNP_SIGNED_SIZE, digest);
        /* R and S are 72-byte little-endian integers. */
        br = BN_lebin2bn(r->signature_r, 72, NULL);
        bs = BN_lebin2bn(r->signature_s, 72, NULL);
        if (!br || !bs)
                return verdict_fail(c, "report.signature", "out of memory");
        k = ecdsa_verify_digest(key, digest, sizeof(digest), br, bs);
        if (k != 1)
                return verdict_fail(c, "report.signature",
                              "ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F does not verify with the %s key",
                              snp_cert_role_to_string(snp_cert_identify(leaf, NULL)));
        verdict_pass(c, "report.signature", "ECDSA P-384/SHA-384 over bytes 0x000-0x29F verifies with the leaf key");
}

int snp_verify(const uint8_t *data, size_t size, SnpChain *chain, const SnpVerifyParams *params,
               SnpAppraisal *ret_appraisal, Verdict *v) {
        _cleanup_free_ SnpAppraisal *a = calloc(1, sizeof(SnpAppraisal));
        _cleanup_free_ char *reason = NULL;
        VerdictRun c = verdict_run(v);
        X509 *leaf, *inter, *ark;
        SnpCertRole leaf_role;
        SnpSigningKey sk;
        json_object *claims;

        if (!a)
                return -ENOMEM;
        v->authentic = false;

        if (snp_report_parse(data, size, &a->report, &reason) < 0) {
                verdict_fail(&c, "report.parse", "%s", reason ? reason : "malformed report");
                goto done;
        }
        a->parsed = true;
        verdict_pass(&c, "report.parse", "version %u, %u bytes, reserved fields zero", a->report.version, SNP_REPORT_SIZE);

        sk = a->signing_key = snp_report_signing_key(&a->report);
        leaf = snp_chain_leaf(chain);
        inter = snp_chain_intermediate(chain);
        ark = chain->cert[SNP_ROLE_ARK];
        leaf_role = chain->cert[SNP_ROLE_VLEK] ? SNP_ROLE_VLEK : SNP_ROLE_VCEK;

        if (sk == SNP_SIGNING_KEY_NONE)
                verdict_fail(&c, "report.signing-key", "SIGNING_KEY is 7: the report is unsigned");
        else if (leaf && (sk == SNP_SIGNING_KEY_VLEK) != (leaf_role == SNP_ROLE_VLEK))
                verdict_fail(&c, "report.signing-key", "report says it is signed by the %s but the leaf given is a %s",
                       sk == SNP_SIGNING_KEY_VLEK ? "VLEK" : "VCEK", snp_cert_role_to_string(leaf_role));
        else
                verdict_pass(&c, "report.signing-key", "signed by the %s", sk == SNP_SIGNING_KEY_VLEK ? "VLEK" : "VCEK");

        if (!leaf || !inter || !ark) {
                verdict_fail(&c, "chain.complete",
                       "missing %s%s%s; give them with --certs or --cert-table, or fetch them from KDS",
                       !leaf ? (sk == SNP_SIGNING_KEY_VLEK ? "the VLEK " : "the VCEK ") : "",
                       !inter ? (sk == SNP_SIGNING_KEY_VLEK ? "the ASVK " : "the ASK ") : "", !ark ? "the ARK" : "");
                goto done;
        }
        verdict_pass(&c, "chain.complete", "%s, %s and ARK present", snp_cert_role_to_string(leaf_role),
             leaf_role == SNP_ROLE_VLEK ? "ASVK" : "ASK");

        if (!chain->leaf_info_ok && !chain->leaf_info_error) {
                if (snp_leaf_info_parse(leaf, &chain->leaf_info, &chain->leaf_info_error) >= 0)
                        chain->leaf_info_ok = true;
                else if (!chain->leaf_info_error)
                        chain->leaf_info_error = strdup("leaf extensions do not parse");
        }

        verify_product(&c, chain, &a->report, leaf_role, &a->product_known, &a->product);
        if (a->product_known)
                verify_ark_pin(&c, chain, a->product, params);
        verify_chain_signatures(&c, chain, leaf, inter, ark, params->at);
        verify_validity(&c, leaf, snp_cert_role_to_string(leaf_role), inter,
                        leaf_role == SNP_ROLE_VLEK ? "ASVK" : "ASK", ark, params->at);
        verify_revocation(&c, chain, leaf, inter, ark, params, &a->crl_checked);
        if (!chain->leaf_info_ok)
                verdict_fail(&c, "tcb.binding", "%s", chain->leaf_info_error ? chain->leaf_info_error : "leaf extensions");
        else {
                bool turin = a->report.reported_tcb.turin;
                verify_tcb_binding(&c, &chain->leaf_info, &a->report.reported_tcb, turin);
                verify_chip_id(&c, &chain->leaf_info, &a->report, leaf_role, turin);
        }
        verify_report_signature(&c, &a->report, leaf);

done:
        v->authentic = c.ok && !verdict_has_failed_check(v);
        if (a->parsed) {
                claims = snp_report_claims(&a->report);
                if (!claims)
                        v->oom = true;
                else {
                        if (a->product_known)
                                json_object_object_add(claims, "product",
                                                       json_object_new_string(snp_product_to_string(a->product)));
                        json_object_put(v->claims);
                        v->claims = claims;
                }
        }
        if (ret_appraisal)
                *ret_appraisal = *a;
        return v->oom ? -ENOMEM : 0;
}
