/* SPDX-License-Identifier: Apache-2.0 */
/* RIMs for the simulated GPUs, in the format NVIDIA's RIM service serves (shared/specs/
 * nvidia-gpu.md §3.2): a TCG RIM over ISO/IEC 19770-2 SWID with an enveloped XML signature
 * (ecdsa-sha384, exclusive canonicalisation, one Reference URI=""), its KeyInfo carrying the
 * signer's chain under a simulated RIM root, so gpu/rim.c verifies them as it verifies real ones.
 * Also the OCSP responder certificates a local responder signs with for the simulated chains. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "cvm/crypto.h"
#include "cvm/gpu-sim.h"
#include "cvm/util.h"
#include "sim-internal.h"

#define NS_SWID "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define NS_TCG "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/"
#define NS_HASH "http://www.w3.org/2001/04/xmlenc#sha384"

GpuSimRimSigner *gpu_sim_rim_signer_free(GpuSimRimSigner *s) {
        if (!s)
                return NULL;
        EVP_PKEY_free(s->root_key);
        EVP_PKEY_free(s->signer_key);
        X509_free(s->root);
        X509_free(s->signer);
        free(s);
        return NULL;
}

/* A P-384 certificate with O=GPU_SIM_ORGANIZATION, signed ecdsa-with-SHA384 as the verifiers
 * require. issuer NULL: self-signed CA. eku: an extendedKeyUsage for a leaf, or NULL. */
static int issue(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca, const char *eku,
                 int64_t nb, int64_t na, X509 **ret) {
        _cleanup_(X509_freep) X509 *x = NULL;
        const SimRdn subject[] = { { "CN", cn }, { "O", GPU_SIM_ORGANIZATION } };
        int r;

        r = sim_cert_begin(&(SimCertSpec) { .subject = subject, .n_subject = ELEMENTSOF(subject), .issuer = issuer,
                                            .key = key, .not_before = nb, .not_after = na, .serial_bits = 127 },
                           &x);
        if (r < 0)
                return r;
        if ((r = x509_add_conf_ext(x, issuer, NID_subject_key_identifier, "hash")) < 0 ||
            (issuer && (r = x509_add_conf_ext(x, issuer, NID_authority_key_identifier, "keyid:always")) < 0) ||
            (r = x509_add_conf_ext(x, issuer, NID_key_usage,
                                   ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature")) < 0 ||
            (r = x509_add_conf_ext(x, issuer, NID_basic_constraints,
                                   ca ? "critical,CA:TRUE" : "critical,CA:FALSE")) < 0 ||
            (eku && (r = x509_add_conf_ext(x, issuer, NID_ext_key_usage, eku)) < 0))
                return r;
        if (X509_sign(x, issuer_key ?: key, EVP_sha384()) <= 0)
                return openssl_fail(-EIO);
        *ret = TAKE_PTR(x);
        return 0;
}

int gpu_sim_rim_signer_new(int64_t not_before, int64_t not_after, GpuSimRimSigner **ret) {
        _cleanup_(gpu_sim_rim_signer_freep) GpuSimRimSigner *s = calloc(1, sizeof(GpuSimRimSigner));
        int r;

        if (!s)
                return -ENOMEM;
        if (not_before == 0 && not_after == 0) {
                not_before = (int64_t) time(NULL) - 86400;
                not_after = 253402300799; /* 9999-12-31T23:59:59Z, as NVIDIA's */
        }
        if (!(s->root_key = EVP_EC_gen("P-384")) || !(s->signer_key = EVP_EC_gen("P-384")))
                return openssl_fail(-EIO);
        if ((r = issue("cvmd Simulated NVIDIA RIM Signing Root", s->root_key, NULL, NULL, true, NULL, not_before,
                       not_after, &s->root)) < 0 ||
            (r = issue("cvmd Simulated NVIDIA RIM Signer", s->signer_key, s->root, s->root_key, false, NULL, not_before,
                       not_after, &s->signer)) < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int gpu_sim_rim_root_pin(const GpuSimRimSigner *s, NvPin *ret) {
        return x509_spki_sha256(s->root, ret->spki_sha256) < 0 ? -EIO : 0;
}

int gpu_sim_rim_ids(const GpuSim *s, char **ret_driver, char **ret_vbios) {
        _cleanup_free_ NvReport *rep = calloc(1, sizeof(NvReport));
        _cleanup_free_ uint8_t *report = NULL;
        uint8_t nonce[NV_NONCE_SIZE] = {};
        size_t size;
        int r;

        if (!rep)
                return -ENOMEM;
        /* the ids the verifier derives from a report: the same code on the same bytes */
        r = gpu_sim_report(s, nonce, &report, &size);
        if (r < 0)
                return r;
        r = nv_report_parse(report, size, rep, NULL);
        if (r < 0)
                return r;
        r = nv_report_driver_rim_id(rep, ret_driver);
        if (r < 0)
                return r;
        r = nv_report_vbios_rim_id(rep, ret_vbios);
        if (r < 0) {
                free(*ret_driver);
                *ret_driver = NULL;
        }
        return r;
}

static xmlNode *resource(xmlNode *payload, xmlNs *swid, xmlNs *hash, unsigned index, const uint8_t digest[48]) {
        _cleanup_free_ char *hex = hex_encode(digest, 48);
        char idx[16], name[32];
        xmlNode *n;

        if (!hex)
                return NULL;
        snprintf(idx, sizeof(idx), "%u", index);
        snprintf(name, sizeof(name), "Measurement_%u", index);
        n = xmlNewChild(payload, swid, (const xmlChar *) "Resource", NULL);
        if (!n || !xmlNewProp(n, (const xmlChar *) "type", (const xmlChar *) "Measurement") ||
            !xmlNewProp(n, (const xmlChar *) "index", (const xmlChar *) idx) ||
            !xmlNewProp(n, (const xmlChar *) "active", (const xmlChar *) "True") ||
            !xmlNewProp(n, (const xmlChar *) "alternatives", (const xmlChar *) "1") ||
            !xmlNewNsProp(n, hash, (const xmlChar *) "Hash0", (const xmlChar *) hex) ||
            !xmlNewProp(n, (const xmlChar *) "name", (const xmlChar *) name) ||
            !xmlNewProp(n, (const xmlChar *) "size", (const xmlChar *) "48"))
                return NULL;
        return n;
}

/* The unsigned document: SoftwareIdentity, Meta, Payload with blocks [first, last). */
static xmlDoc *rim_document(const GpuSim *s, const char *id, bool vbios, unsigned first, unsigned last,
                            int wrong_index) {
        xmlDoc *doc = xmlNewDoc((const xmlChar *) "1.0");
        xmlNode *root, *meta, *payload;
        xmlNs *swid, *tcg, *hash;
        char version[32];

        if (!doc)
                return NULL;
        if (vbios)
                snprintf(version, sizeof(version), "%02X.%02X.%02X.%02X.%02X", s->vbios_raw[3], s->vbios_raw[2],
                         s->vbios_raw[1], s->vbios_raw[0], s->vbios_raw[4]);
        else
                snprintf(version, sizeof(version), "%s", s->driver_version);
        root = xmlNewDocNode(doc, NULL, (const xmlChar *) "SoftwareIdentity", NULL);
        if (!root)
                goto fail;
        xmlDocSetRootElement(doc, root);
        swid = xmlNewNs(root, (const xmlChar *) NS_SWID, NULL);
        hash = xmlNewNs(root, (const xmlChar *) NS_HASH, (const xmlChar *) "ns2");
        tcg = xmlNewNs(root, (const xmlChar *) NS_TCG, (const xmlChar *) "ns1");
        if (!swid || !hash || !tcg)
                goto fail;
        xmlSetNs(root, swid);
        if (!xmlNewProp(root, (const xmlChar *) "name", (const xmlChar *) (vbios ? "GH100 VBIOS" : "GH100 Driver")) ||
            !xmlNewProp(root, (const xmlChar *) "tagId", (const xmlChar *) id) ||
            !xmlNewProp(root, (const xmlChar *) "version", (const xmlChar *) version))
                goto fail;
        meta = xmlNewChild(root, swid, (const xmlChar *) "Meta", NULL);
        if (!meta || !xmlNewProp(meta, (const xmlChar *) "colloquialVersion", (const xmlChar *) version) ||
            !xmlNewProp(meta, (const xmlChar *) "product", (const xmlChar *) "GH100") ||
            !xmlNewProp(meta, (const xmlChar *) "edition", (const xmlChar *) (vbios ? "VBIOS" : "GPU")) ||
            !xmlNewNsProp(meta, tcg, (const xmlChar *) "FirmwareManufacturerId", (const xmlChar *) "5703"))
                goto fail;
        payload = xmlNewChild(root, swid, (const xmlChar *) "Payload", NULL);
        if (!payload)
                goto fail;
        for (unsigned i = first; i < last; i++) {
                uint8_t d[48];

                memcpy(d, s->measurements[i], sizeof(d));
                if ((int) i == wrong_index)
                        d[0] ^= 0x01; /* signed as well as the rest: only the comparison can tell */
                if (!resource(payload, swid, hash, i, d))
                        goto fail;
        }
        return doc;
fail:
        xmlFreeDoc(doc);
        return NULL;
}

static int add_cert(xmlNode *x509data, X509 *cert) {
        unsigned char *der = NULL;
        _cleanup_free_ char *b64 = NULL;
        int len = i2d_X509(cert, &der);
        xmlNode *n;

        if (len <= 0)
                return openssl_fail(-ENOMEM);
        b64 = b64_encode(der, (size_t) len);
        OPENSSL_free(der);
        if (!b64)
                return -ENOMEM;
        n = xmlSecAddChild(x509data, xmlSecNodeX509Certificate, xmlSecDSigNs);
        if (!n)
                return -ENOMEM;
        xmlNodeSetContent(n, (const xmlChar *) b64);
        return 0;
}

/* Signs doc in place: the enveloped signature, then the KeyInfo with the signer's chain (outside
 * what is signed, as in NVIDIA's RIMs: the verifier checks the chain itself). */
static int sign(xmlDoc *doc, const GpuSimRimSigner *signer) {
        _cleanup_(xmlSecDSigCtxDestroyp) xmlSecDSigCtxPtr ctx = NULL;
        xmlNode *sig, *ref, *keyinfo, *x509data;
        xmlSecKeyDataPtr data;
        xmlSecKeyPtr key;

        sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, xmlSecTransformEcdsaSha384Id, NULL);
        if (!sig || !xmlAddChild(xmlDocGetRootElement(doc), sig))
                return -ENOMEM;
        ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha384Id, NULL, (const xmlChar *) "", NULL);
        if (!ref || !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ||
            !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId))
                return -ENOMEM;
        ctx = xmlSecDSigCtxCreate(NULL);
        if (!ctx || !EVP_PKEY_up_ref(signer->signer_key))
                return -ENOMEM;
        data = xmlSecOpenSSLEvpKeyAdopt(signer->signer_key);
        if (!data) {
                EVP_PKEY_free(signer->signer_key);
                return openssl_fail(-EIO);
        }
        key = xmlSecKeyCreate();
        if (!key || xmlSecKeySetValue(key, data) < 0) {
                xmlSecKeyDataDestroy(data);
                if (key)
                        xmlSecKeyDestroy(key);
                return -ENOMEM;
        }
        ctx->signKey = key;
        if (xmlSecDSigCtxSign(ctx, sig) < 0)
                return openssl_fail(-EIO);
        keyinfo = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
        x509data = keyinfo ? xmlSecTmplKeyInfoAddX509Data(keyinfo) : NULL;
        if (!x509data || add_cert(x509data, signer->signer) < 0 || add_cert(x509data, signer->root) < 0)
                return -ENOMEM;
        return 0;
}

static int write_rim(const GpuSim *s, const GpuSimRimSigner *signer, const char *id, bool vbios, unsigned first,
                     unsigned last, int wrong_index, const char *dir) {
        _cleanup_free_ char *name = strdup_printf("%s.xml", id);
        xmlDoc *doc = rim_document(s, id, vbios, first, last, wrong_index);
        xmlChar *text = NULL;
        int r, size = 0;

        if (!doc || !name) {
                xmlFreeDoc(doc);
                return -ENOMEM;
        }
        r = sign(doc, signer);
        if (r >= 0) {
                xmlDocDumpMemoryEnc(doc, &text, &size, "UTF-8");
                r = text && size > 0 ? sim_write_file(dir, name, text, (size_t) size, 0644) : -ENOMEM;
        }
        xmlFree(text);
        xmlFreeDoc(doc);
        return r;
}

int gpu_sim_write_rims(const GpuSim *s, const GpuSimRimSigner *signer, int wrong_index, const char *dir) {
        _cleanup_free_ char *driver = NULL, *vbios = NULL;
        int r;

        if (nv_rim_xmlsec_init() < 0)
                return -EIO;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        r = gpu_sim_rim_ids(s, &driver, &vbios);
        if (r < 0)
                return r;
        /* each index in one RIM only: the verifier refuses two active entries for one index */
        r = write_rim(s, signer, vbios, true, 0, GPU_SIM_VBIOS_BLOCKS, wrong_index, dir);
        if (r < 0)
                return r;
        return write_rim(s, signer, driver, false, GPU_SIM_VBIOS_BLOCKS, GPU_SIM_ACTIVE_BLOCKS, wrong_index, dir);
}

/* ---- OCSP responders ---- */

int sim_write_ocsp_responder(const char *dir, const char *name, X509 *ca, EVP_PKEY *ca_key) {
        int64_t nb = (int64_t) time(NULL) - 86400, na = nb + 366 * 86400;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = EVP_EC_gen("P-384");
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        _cleanup_free_ char *file = strdup_printf("%s.pem", name);
        _cleanup_free_ uint8_t *pem = NULL;
        size_t size;
        int r;

        if (!key || !b || !file)
                return openssl_fail(-ENOMEM);
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        r = issue("cvmd Simulated NVIDIA OCSP Responder", key, ca, ca_key, false, "OCSPSigning", nb, na, &cert);
        if (r < 0)
                return r;
        if (!PEM_write_bio_X509(b, cert) || !PEM_write_bio_X509(b, ca) ||
            !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
                return openssl_fail(-EIO);
        r = sim_bio_take(b, &pem, &size);
        if (r < 0)
                return r;
        r = sim_write_file(dir, file, pem, size, 0600);
        explicit_bzero(pem, size);
        return r;
}

int gpu_sim_write_ocsp_responders(const GpuSim *s, const GpuSimRimSigner *signer, const char *dir) {
        int r;

        if (!s->ca_keys[0] || !signer)
                return -EINVAL;
        /* the issuers of the certificates OCSP is asked about: the device chain's certificates 1-3
         * (issued by the provisioner CA, the identity CA and the root: ca_keys[2], [1], [0]) and
         * the RIM signer (issued by the RIM root) */
        if ((r = sim_write_ocsp_responder(dir, "provisioner", s->certs[2], s->ca_keys[2])) < 0 ||
            (r = sim_write_ocsp_responder(dir, "identity", s->certs[3], s->ca_keys[1])) < 0 ||
            (r = sim_write_ocsp_responder(dir, "root", s->certs[4], s->ca_keys[0])) < 0 ||
            (r = sim_write_ocsp_responder(dir, "rim-root", signer->root, signer->root_key)) < 0)
                return r;
        return 0;
}
