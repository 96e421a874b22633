/* SPDX-License-Identifier: Apache-2.0 */
/* One NVSwitch's evidence (docs/nvswitch.md): its report signed by the leaf key of a
 * five-certificate chain ("LS_10 A01 FSP FMC LF" ... "NVIDIA Device Identity CA", the GPUs' root),
 * the nonce the host derived for it, the FWID when the report has one, and the switch locked
 * (LOCK_SWITCH_STATUS 1, which NVIDIA's PPCIe verifier requires through NSCQ; here it is read
 * from the signed report). */
#include <openssl/obj_mac.h>
#include <stdarg.h>
#include <string.h>

#include "cvm/cleanup.h"
#include "cvm/crypto.h"
#include "cvm/nvswitch.h"
#include "cvm/util.h"

typedef struct Ctx {
        Verdict *v;
        size_t index;
        bool ok;
} Ctx;

static void record(Ctx *c, const char *what, CheckStatus s, const char *fmt, ...) _printf_(4, 5);
static void record(Ctx *c, const char *what, CheckStatus s, const char *fmt, ...) {
        _cleanup_free_ char *name = strdup_printf("nvswitch%zu.%s", c->index, what), *d = NULL;
        va_list ap;

        va_start(ap, fmt);
        d = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (s == CHECK_FAIL)
                c->ok = false;
        if (!name || !d) {
                c->v->oom = true;
                return;
        }
        verdict_check(c->v, name, s, "%s", d);
}

static void check_signature(Ctx *c, const uint8_t *data, const NvSwitchReport *r, X509 *leaf) {
        _cleanup_(BN_freep) BIGNUM *br = BN_bin2bn(r->signature, 48, NULL),
                                   *bs = BN_bin2bn(r->signature + 48, 48, NULL);
        EVP_PKEY *key = X509_get0_pubkey(leaf);
        uint8_t digest[48];

        if (!br || !bs) {
                c->v->oom = true;
                c->ok = false;
                return;
        }
        if (!pkey_is_ec_curve(key, NID_secp384r1)) {
                record(c, "report.signature", CHECK_FAIL, "the leaf key is not an EC P-384 key");
                return;
        }
        sha384(data, r->signed_size, digest);
        if (ecdsa_verify_digest(key, digest, sizeof(digest), br, bs) != 1)
                record(c, "report.signature", CHECK_FAIL,
                       "ECDSA P-384/SHA-384 signature over report bytes [0, %zu) does not verify with the leaf key",
                       r->signed_size);
        else
                record(c, "report.signature", CHECK_PASS,
                       "ECDSA P-384/SHA-384 over report bytes [0, %zu) verifies with the leaf key", r->signed_size);
}

static void check_chain(Ctx *c, NvChain *chain, const NvSwitchParams *p) {
        _cleanup_free_ char *why = NULL;
        NvPin builtin;
        const NvPin *pins = p->root_pins;
        size_t n_pins = p->n_root_pins;
        int k;

        if (!pins) {
                memcpy(builtin.spki_sha256, nv_device_root_spki_sha256, 32);
                pins = &builtin;
                n_pins = 1;
        }
        k = nv_cert_chain_verify(chain->certs, NV_CHAIN_LENGTH, pins, n_pins, p->at, &why);
        if (k < 0) {
                c->v->oom = c->v->oom || k == -ENOMEM;
                record(c, "chain", CHECK_FAIL, "the chain could not be checked: %s", strerror(-k));
        } else if (k == 0)
                record(c, "chain", CHECK_FAIL, "%s", why ?: "the chain does not verify");
        else
                record(c, "chain", CHECK_PASS, "%u certificates up to a pinned device identity root, valid now",
                       NV_CHAIN_LENGTH);
}

static void check_fwid(Ctx *c, NvChain *chain, const NvSwitchReport *r) {
        uint8_t fwid[NV_FWID_SIZE];
        int k;

        if (!r->has_fwid) {
                /* real LS10 reports carry none; NVIDIA's verifier then treats the binding as met */
                record(c, "fwid", CHECK_SKIP, "the switch report carries no FWID field; nothing to bind to the leaf");
                return;
        }
        k = nv_leaf_fwid(nv_chain_leaf(chain), fwid);
        if (k == -ENOMEM)
                c->v->oom = true;
        if (k <= 0)
                record(c, "fwid", CHECK_FAIL, "the report carries an FWID and the leaf has %s",
                       k == 0 ? "no FWID extension" : "a malformed FWID extension");
        else if (memcmp(fwid, r->fwid, NV_FWID_SIZE) != 0)
                record(c, "fwid", CHECK_FAIL, "the report's FWID differs from the leaf certificate's");
        else
                record(c, "fwid", CHECK_PASS, "the report's FWID equals the leaf certificate's");
}

static void check_nonce(Ctx *c, const NvSwitchReport *r, const uint8_t *want) {
        _cleanup_free_ char *got = NULL;

        if (!want) {
                record(c, "nonce", CHECK_SKIP, "no expected nonce given: the report's freshness is not established");
                return;
        }
        if (memcmp(r->nonce, want, NV_NONCE_SIZE) == 0) {
                record(c, "nonce", CHECK_PASS, "the request nonce equals the one derived for this switch");
                return;
        }
        got = hex_encode(r->nonce, NV_NONCE_SIZE);
        record(c, "nonce", CHECK_FAIL, "the request nonce %s is not the one derived for this switch", got ?: "?");
}

static void check_locked(Ctx *c, const NvSwitchReport *r) {
        if (!r->has_lock_status)
                record(c, "locked", CHECK_FAIL,
                       "the report has no LOCK_SWITCH_STATUS: the switch's PPCIe lock is not shown");
        else if (r->lock_status != NV_SWITCH_LOCKED)
                record(c, "locked", CHECK_FAIL, "LOCK_SWITCH_STATUS is %u, not %u (locked for protected PCIe)",
                       r->lock_status, NV_SWITCH_LOCKED);
        else
                record(c, "locked", CHECK_PASS, "the switch reports itself locked for protected PCIe");
}

int nv_switch_verify(const NvSwitchInput *in, size_t index, const NvSwitchParams *p, NvSwitchAppraisal *ret,
                     Verdict *v) {
        _cleanup_free_ NvSwitchAppraisal *a = calloc(1, sizeof(NvSwitchAppraisal));
        _cleanup_free_ char *reason = NULL;
        Ctx c = {.v = v, .index = index, .ok = true};
        X509 *leaf = in->chain ? nv_chain_leaf(in->chain) : NULL;

        if (!a)
                return -ENOMEM;
        if (nv_switch_report_parse(in->report, in->report_size, &a->report, &reason) < 0)
                record(&c, "report.parse", CHECK_FAIL, "%s", reason ?: "malformed report");
        else {
                a->parsed = true;
                record(&c, "report.parse", CHECK_PASS, "%zu bytes, %u measurement blocks", in->report_size,
                       a->report.n_blocks);
        }
        if (!leaf)
                record(&c, "chain", CHECK_FAIL, "no certificate chain for this NVSwitch");
        else
                check_chain(&c, in->chain, p);
        if (a->parsed && leaf) {
                check_signature(&c, in->report, &a->report, leaf);
                check_fwid(&c, in->chain, &a->report);
        }
        if (a->parsed) {
                check_nonce(&c, &a->report, p->nonces ? p->nonces[index] : NULL);
                check_locked(&c, &a->report);
        }
        a->authentic = c.ok && !v->oom;
        *ret = *a;
        return v->oom ? -ENOMEM : 0;
}
