/* SPDX-License-Identifier: Apache-2.0 */
/* Reference integrity manifests (spec §3.2, §3.3): TCG RIM over ISO/IEC 19770-2 SWID, signed with an
 * enveloped XML signature whose KeyInfo carries the signer's chain up to the NVIDIA CoRIM signing
 * root. libxml2 parses (no network, no DTD, bounded size); the chain is checked with OpenSSL at
 * the verification time against the pinned root; xmlsec checks the signature with the key of the
 * chain's leaf only (KeyInfo is never used to find a key), and only a whole-document reference
 * with the enveloped-signature and canonicalisation transforms is allowed, so what was signed is
 * exactly the document the measurements are read from.
 *
 * Parsed RIMs are kept in the process's object cache (include/cvm/object-cache.h) by the
 * SHA-256 of their exact bytes: the same bytes parse once, and each nv_rim_parse() hands out a
 * new NvRim sharing the parsed document. A signature that verified is kept in the verified cache
 * (include/cvm/verified-cache.h) under the RIM's bytes and its signer's, for the signer's
 * validity; the signer chain goes through nv_cert_chain_verify(), whose link checks are cached
 * and whose pin and validity at the verification time are checked every time, so a RIM whose
 * signer has expired is refused at that time whatever was cached. */
#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/x509.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "cvm/crypto.h"
#include "cvm/gpu.h"
#include "cvm/object-cache.h"
#include "cvm/util.h"
#include "cvm/verified-cache.h"
#include "cvm/x509-cache.h"

#define NS_SWID "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define NS_TCG "https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/"
#define NS_DSIG "http://www.w3.org/2000/09/xmldsig#"
#define NS_HASH "http://www.w3.org/2001/04/xmlenc#sha384"
#define RIM_CERTS_MAX 8

static pthread_once_t xmlsec_once = PTHREAD_ONCE_INIT;
static int xmlsec_state = -EIO;

/* xmlsec reports every failure on stderr by default; the reason we return says what failed. */
static void xmlsec_quiet(const char *file, int line, const char *func, const char *object, const char *subject,
                         int reason, const char *msg) {
}

static void xmlsec_init_once(void) {
        xmlInitParser();
        if (xmlSecInit() < 0)
                return;
        if (xmlSecCheckVersion() != 1)
                return;
        if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)
                return;
        xmlSecErrorsSetCallback(xmlsec_quiet);
        xmlsec_state = 0;
}

int nv_rim_xmlsec_init(void) {
        (void) pthread_once(&xmlsec_once, xmlsec_init_once);
        return xmlsec_state;
}

/* What NvRim.doc points to: the parsed document, shared by every NvRim parsed from the same
 * bytes and by the object cache. `proto` is the parse result the cache hands out copies of (its
 * own doc is NULL); the lock serialises xmlsec's walks over the shared document. */
typedef struct RimDoc {
        xmlDoc *doc;
        uint8_t digest[32]; /* SHA-256 of the RIM's bytes */
        NvRim *proto;
        pthread_mutex_t lock;
        unsigned n_ref;
} RimDoc;

static void *rim_doc_ref(void *p) {
        __atomic_add_fetch(&((RimDoc *) p)->n_ref, 1, __ATOMIC_RELAXED);
        return p;
}

static void rim_doc_unref(void *p) {
        RimDoc *d = p;

        if (!d || __atomic_sub_fetch(&d->n_ref, 1, __ATOMIC_ACQ_REL) != 0)
                return;
        nv_rim_free(d->proto);
        if (d->doc)
                xmlFreeDoc(d->doc);
        pthread_mutex_destroy(&d->lock);
        free(d);
}

static const ObjectCacheType rim_type = { "nv-rim", rim_doc_ref, rim_doc_unref };

NvRim *nv_rim_free(NvRim *r) {
        if (!r)
                return NULL;
        rim_doc_unref(r->doc);
        free(r->name);
        free(r->tag_id);
        free(r->version);
        free(r->product);
        free(r->edition);
        free(r->manufacturer_id);
        free(r->entries);
        sk_X509_pop_free(r->certs, X509_free);
        free(r->id);
        free(r->verify_error);
        free(r);
        return NULL;
}

static bool node_is(const xmlNode *n, const char *ns, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href && streq((const char *) n->ns->href, ns) &&
               streq((const char *) n->name, name);
}

/* An attribute (ns NULL: no namespace) as a malloc'ed string; NULL when absent. */
static char *attr(xmlNode *n, const char *name, const char *ns) {
        xmlChar *v = ns ? xmlGetNsProp(n, (const xmlChar *) name, (const xmlChar *) ns)
                        : xmlGetNoNsProp(n, (const xmlChar *) name);
        char *s;

        if (!v)
                return NULL;
        s = strdup((const char *) v);
        xmlFree(v);
        return s;
}

static int parse_uint(const char *s, unsigned max, unsigned *ret) {
        unsigned u = 0;

        if (!s || !*s || strlen(s) > 5)
                return -EBADMSG;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EBADMSG;
                u = u * 10 + (unsigned) (*p - '0');
        }
        if (u > max)
                return -EBADMSG;
        *ret = u;
        return 0;
}

static int parse_resource(xmlNode *n, NvRimEntry *e, char **ret_reason) {
        _cleanup_free_ char *index = attr(n, "index", NULL), *active = attr(n, "active", NULL),
                            *alts = attr(n, "alternatives", NULL), *size = attr(n, "size", NULL);

        *e = (NvRimEntry) {};
        if (parse_uint(index, NV_BLOCKS_MAX - 1, &e->index) < 0)
                return set_reason(ret_reason, -EBADMSG, "Resource (line %ld): index \"%s\" is not 0..254", xmlGetLineNo(n), index ?: "");
        if (active && strcasecmp(active, "true") == 0)
                e->active = true;
        else if (!active || strcasecmp(active, "false") != 0)
                return set_reason(ret_reason, -EBADMSG, "Resource index %u: active \"%s\" is not True or False", e->index, active ?: "");
        if (parse_uint(alts, NV_RIM_ALTERNATIVES_MAX, &e->n_alternatives) < 0 || e->n_alternatives == 0)
                return set_reason(ret_reason, -EBADMSG, "Resource index %u: alternatives \"%s\" is not 1..%u", e->index, alts ?: "",
                            NV_RIM_ALTERNATIVES_MAX);
        if (parse_uint(size, NV_DIGEST_MAX, &e->size) < 0 || e->size == 0)
                return set_reason(ret_reason, -EBADMSG, "Resource index %u: size \"%s\" is not 1..%u", e->index, size ?: "", NV_DIGEST_MAX);
        for (unsigned i = 0; i < e->n_alternatives; i++) {
                char name[16];
                _cleanup_free_ char *h = NULL;

                snprintf(name, sizeof(name), "Hash%u", i);
                h = attr(n, name, NS_HASH);
                if (!h || strlen(h) != 2 * (size_t) e->size || hex_decode_exact(h, e->alternatives[i], e->size) < 0)
                        return set_reason(ret_reason, -EBADMSG, "Resource index %u: %s is missing or not %u bytes of hex", e->index, name,
                                    e->size);
        }
        return 0;
}

static int parse_payload(xmlNode *payload, NvRim *r, char **ret_reason) {
        size_t n = 0;

        for (xmlNode *c = payload->children; c; c = c->next)
                if (node_is(c, NS_SWID, "Resource"))
                        n++;
        if (n > NV_RIM_ENTRIES_MAX)
                return set_reason(ret_reason, -EBADMSG, "Payload has %zu resources, more than %u", n, NV_RIM_ENTRIES_MAX);
        r->entries = calloc(n ? n : 1, sizeof(NvRimEntry));
        if (!r->entries)
                return -ENOMEM;
        for (xmlNode *c = payload->children; c; c = c->next) {
                _cleanup_free_ char *type = NULL;
                int k;

                if (!node_is(c, NS_SWID, "Resource"))
                        continue;
                type = attr(c, "type", NULL);
                if (!type || !streq(type, "Measurement"))
                        continue;
                k = parse_resource(c, &r->entries[r->n_entries], ret_reason);
                if (k < 0)
                        return k;
                for (size_t i = 0; i < r->n_entries; i++)
                        if (r->entries[i].index == r->entries[r->n_entries].index)
                                return set_reason(ret_reason, -EBADMSG, "Resource index %u appears twice", r->entries[i].index);
                r->n_entries++;
        }
        return 0;
}

/* Base64 text of an X509Certificate element (whitespace allowed) to a certificate. */
static int decode_cert(const char *text, X509 **ret) {
        _cleanup_free_ char *clean = malloc(strlen(text) + 1);
        _cleanup_free_ uint8_t *der = NULL;
        size_t n = 0, pad = 0;
        int len;
        X509 *c;

        if (!clean)
                return -ENOMEM;
        for (const char *s = text; *s; s++)
                if (!isspace((unsigned char) *s))
                        clean[n++] = *s;
        clean[n] = 0;
        if (n == 0 || n % 4 != 0 || n > 64 * 1024)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) clean[i]) && clean[i] != '+' && clean[i] != '/' &&
                    !(clean[i] == '=' && i + 2 >= n))
                        return -EBADMSG;
        pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
        der = malloc(n / 4 * 3 + 1);
        if (!der)
                return -ENOMEM;
        len = EVP_DecodeBlock(der, (const unsigned char *) clean, (int) n);
        if (len < 0 || (size_t) len < pad)
                return -EBADMSG;
        len -= (int) pad;
        /* decoded once per process by its DER bytes (include/cvm/x509-cache.h): RIMs share signers */
        if (x509_decode_der(der, (size_t) len, &c) < 0) {
                openssl_clear_errors();
                return -EBADMSG;
        }
        *ret = c;
        return 0;
}

static int parse_certs(xmlNode *sig, NvRim *r, char **ret_reason) {
        xmlNode *keyinfo = NULL;

        for (xmlNode *c = sig->children; c; c = c->next)
                if (node_is(c, NS_DSIG, "KeyInfo")) {
                        if (keyinfo)
                                return set_reason(ret_reason, -EBADMSG, "Signature has two KeyInfo elements");
                        keyinfo = c;
                }
        r->certs = sk_X509_new_null();
        if (!r->certs)
                return -ENOMEM;
        if (!keyinfo)
                return set_reason(ret_reason, -EBADMSG, "Signature has no KeyInfo with the signing certificates");
        for (xmlNode *d = keyinfo->children; d; d = d->next) {
                if (!node_is(d, NS_DSIG, "X509Data"))
                        continue;
                for (xmlNode *x = d->children; x; x = x->next) {
                        xmlChar *text;
                        X509 *cert = NULL;
                        int k;

                        if (!node_is(x, NS_DSIG, "X509Certificate"))
                                continue;
                        if (sk_X509_num(r->certs) >= RIM_CERTS_MAX)
                                return set_reason(ret_reason, -EBADMSG, "KeyInfo has more than %d certificates", RIM_CERTS_MAX);
                        text = xmlNodeGetContent(x);
                        if (!text)
                                return -ENOMEM;
                        k = decode_cert((const char *) text, &cert);
                        xmlFree(text);
                        if (k == -ENOMEM)
                                return k;
                        if (k < 0)
                                return set_reason(ret_reason, -EBADMSG, "KeyInfo certificate %d is not base64 DER X.509",
                                            sk_X509_num(r->certs));
                        if (!sk_X509_push(r->certs, cert)) {
                                X509_free(cert);
                                return -ENOMEM;
                        }
                }
        }
        if (sk_X509_num(r->certs) == 0)
                return set_reason(ret_reason, -EBADMSG, "KeyInfo carries no X509Certificate");
        return 0;
}

static char *strdup_or_null(const char *s, bool *oom) {
        char *c = s ? strdup(s) : NULL;

        if (s && !c)
                *oom = true;
        return c;
}

/* A new NvRim with src's parse result, sharing d's document (one more reference). */
static NvRim *rim_copy(const NvRim *src, RimDoc *d) {
        _cleanup_(nv_rim_freep) NvRim *r = calloc(1, sizeof(NvRim));
        bool oom = false;

        if (!r)
                return NULL;
        r->verified = -1;
        r->name = strdup_or_null(src->name, &oom);
        r->tag_id = strdup_or_null(src->tag_id, &oom);
        r->version = strdup_or_null(src->version, &oom);
        r->product = strdup_or_null(src->product, &oom);
        r->edition = strdup_or_null(src->edition, &oom);
        r->manufacturer_id = strdup_or_null(src->manufacturer_id, &oom);
        r->entries = calloc(src->n_entries ? src->n_entries : 1, sizeof(NvRimEntry));
        r->certs = src->certs ? X509_chain_up_ref(src->certs) : NULL;
        if (oom || !r->entries || (src->certs && !r->certs))
                return NULL;
        if (src->n_entries > 0)
                memcpy(r->entries, src->entries, src->n_entries * sizeof(NvRimEntry));
        r->n_entries = src->n_entries;
        if (d)
                r->doc = rim_doc_ref(d);
        return TAKE_PTR(r);
}

static int rim_parse_doc(const uint8_t *data, size_t size, const uint8_t digest[32], NvRim **ret, char **ret_reason) {
        _cleanup_(nv_rim_freep) NvRim *r = NULL;
        xmlNode *root, *meta = NULL, *payload = NULL, *sig = NULL;
        RimDoc *d;
        xmlDoc *doc;
        int k;

        if (size == 0)
                return set_reason(ret_reason, -EBADMSG, "the RIM is empty");
        if (size > NV_RIM_SIZE_MAX || size > INT_MAX)
                return set_reason(ret_reason, -EBADMSG, "the RIM is %zu bytes, more than %u", size, NV_RIM_SIZE_MAX);
        if (memchr(data, 0, size))
                return set_reason(ret_reason, -EBADMSG, "the RIM contains a NUL byte");
        /* No document type declarations at all: no entities, no external subsets. */
        if (memmem(data, size, "<!DOCTYPE", 9) || memmem(data, size, "<!ENTITY", 8))
                return set_reason(ret_reason, -EBADMSG, "the RIM has a document type declaration, refusing");
        (void) pthread_once(&xmlsec_once, xmlsec_init_once);

        doc = xmlReadMemory((const char *) data, (int) size, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc) {
                xmlResetLastError();
                return set_reason(ret_reason, -EBADMSG, "the RIM is not well-formed XML");
        }
        r = calloc(1, sizeof(NvRim));
        d = calloc(1, sizeof(RimDoc));
        if (!r || !d || pthread_mutex_init(&d->lock, NULL) != 0) {
                free(d);
                xmlFreeDoc(doc);
                return -ENOMEM;
        }
        d->doc = doc;
        d->n_ref = 1;
        memcpy(d->digest, digest, 32);
        r->doc = d;
        r->verified = -1;
        if (doc->intSubset || doc->extSubset)
                return set_reason(ret_reason, -EBADMSG, "the RIM has a document type declaration, refusing");

        root = xmlDocGetRootElement(doc);
        if (!node_is(root, NS_SWID, "SoftwareIdentity"))
                return set_reason(ret_reason, -EBADMSG, "the root element is not a SWID SoftwareIdentity");
        r->name = attr(root, "name", NULL);
        r->tag_id = attr(root, "tagId", NULL);
        for (xmlNode *c = root->children; c; c = c->next) {
                xmlNode **slot = node_is(c, NS_SWID, "Meta")         ? &meta
                                 : node_is(c, NS_SWID, "Payload")    ? &payload
                                 : node_is(c, NS_DSIG, "Signature") ? &sig
                                                                    : NULL;
                if (!slot)
                        continue;
                if (*slot)
                        return set_reason(ret_reason, -EBADMSG, "SoftwareIdentity has two %s elements", (const char *) c->name);
                *slot = c;
        }
        if (!meta)
                return set_reason(ret_reason, -EBADMSG, "SoftwareIdentity has no Meta element");
        if (!payload)
                return set_reason(ret_reason, -EBADMSG, "SoftwareIdentity has no Payload element");
        if (!sig)
                return set_reason(ret_reason, -EBADMSG, "SoftwareIdentity has no enveloped ds:Signature");
        r->version = attr(meta, "colloquialVersion", NULL);
        if (!r->version || !r->version[0] || strlen(r->version) > 63)
                return set_reason(ret_reason, -EBADMSG, "Meta has no colloquialVersion");
        r->product = attr(meta, "product", NULL);
        r->edition = attr(meta, "edition", NULL);
        r->manufacturer_id = attr(meta, "FirmwareManufacturerId", NS_TCG);

        k = parse_payload(payload, r, ret_reason);
        if (k < 0)
                return k;
        k = parse_certs(sig, r, ret_reason);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

/* Until the earliest notAfter of its certificates: an expired RIM goes first when room is needed. */
static int64_t rim_until(const NvRim *r) {
        int64_t until = INT64_MAX;

        for (int i = 0; r->certs && i < sk_X509_num(r->certs); i++) {
                int64_t na;
                if (x509_not_after(sk_X509_value(r->certs, i), &na) >= 0 && na < until)
                        until = na;
        }
        return until;
}

int nv_rim_parse(const uint8_t *data, size_t size, NvRim **ret, char **ret_reason) {
        uint8_t digest[32];
        NvRim *r = NULL;
        RimDoc *d;
        int k;

        /* A parse that failed is not kept: its reason comes from parsing again. */
        d = size > 0 && size <= NV_RIM_SIZE_MAX ? object_cache_get(&rim_type, data, size, digest) : NULL;
        if (d) {
                r = rim_copy(d->proto, d);
                rim_doc_unref(d);
                if (!r)
                        return -ENOMEM;
                *ret = r;
                return 0;
        }
        if (size == 0 || size > NV_RIM_SIZE_MAX)
                memset(digest, 0, sizeof(digest));
        k = rim_parse_doc(data, size, digest, &r, ret_reason);
        if (k < 0)
                return k;
        d = r->doc;
        /* the cache's prototype: the parse result without a document (no cycle) */
        if (!d->proto)
                d->proto = rim_copy(r, NULL);
        if (d->proto)
                object_cache_put(&rim_type, digest, data, size, d, rim_until(r));
        *ret = r;
        return 0;
}

bool nv_rim_is_debug(const NvRim *rim) {
        const char *fields[] = { rim->name, rim->edition, rim->product };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (fields[i] && strcasestr(fields[i], "debug"))
                        return true;
        return false;
}

/* A verdict of "invalid" with a reason: 0. */
#define invalid(ret_reason, ...) set_reason(ret_reason, 0, __VA_ARGS__)

static int signature_verify(NvRim *rim, X509 *leaf, char **ret_reason) {
        _cleanup_(xmlSecDSigCtxDestroyp) xmlSecDSigCtxPtr ctx = NULL;
        xmlNode *sig;
        xmlSecKeyDataPtr data;
        xmlSecKeyPtr key;
        xmlSecDSigReferenceCtxPtr ref;

        sig = xmlSecFindChild(xmlDocGetRootElement(((RimDoc *) rim->doc)->doc), xmlSecNodeSignature, xmlSecDSigNs);
        if (!sig)
                return invalid(ret_reason, "no ds:Signature under the root");
        ctx = xmlSecDSigCtxCreate(NULL);
        if (!ctx)
                return -ENOMEM;
        /* Only a same-document, whole-document reference; only these transforms. */
        ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
        if (xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
            xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
            xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14N11Id) < 0 ||
            xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
            xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha384Id) < 0 ||
            xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
            xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14N11Id) < 0 ||
            xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
            xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha384Id) < 0)
                return -ENOMEM;

        data = xmlSecOpenSSLX509CertGetKey(leaf);
        if (!data) {
                openssl_clear_errors();
                return invalid(ret_reason, "the signer's key cannot be used");
        }
        key = xmlSecKeyCreate();
        if (!key || xmlSecKeySetValue(key, data) < 0) {
                xmlSecKeyDataDestroy(data);
                if (key)
                        xmlSecKeyDestroy(key);
                return -ENOMEM;
        }
        ctx->signKey = key;

        if (xmlSecDSigCtxVerify(ctx, sig) < 0) {
                openssl_clear_errors();
                return invalid(ret_reason, "the XML signature cannot be processed (unsupported algorithm, a reference "
                                        "other than the whole document, or malformed SignedInfo)");
        }
        openssl_clear_errors();
        if (ctx->status != xmlSecDSigStatusSucceeded)
                return invalid(ret_reason, "the XML signature does not verify with the signer's key");
        if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1)
                return invalid(ret_reason, "the signature has %u references, expected exactly one",
                            (unsigned) xmlSecPtrListGetSize(&ctx->signedInfoReferences));
        ref = xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
        if (!ref || (ref->uri && ref->uri[0]) || ref->status != xmlSecDSigStatusSucceeded)
                return invalid(ret_reason, "the signature does not cover the whole document");
        return 1;
}

/* signature_verify() once per RIM bytes and signer: the verified cache's key is the SHA-256 of
 * the signer's DER and of the RIM's bytes, the window the signer's validity (the chain's own
 * validity at `at` was checked just before). The document is shared: one walk at a time. */
static int signature_verify_cached(NvRim *rim, X509 *leaf, int64_t at, char **ret_reason) {
        RimDoc *d = rim->doc;
        uint8_t signer[32], key[32];
        int64_t from, until;
        bool keyed;
        int k;

        keyed = x509_der_sha256(leaf, signer) >= 0;
        if (keyed) {
                verified_cache_key(key, "nv-rim-xmldsig", signer, d->digest);
                if (verified_cache_lookup(key, at))
                        return 1;
        }
        pthread_mutex_lock(&d->lock);
        k = signature_verify(rim, leaf, ret_reason);
        pthread_mutex_unlock(&d->lock);
        if (k == 1 && keyed && x509_not_before(leaf, &from) >= 0 && x509_not_after(leaf, &until) >= 0)
                verified_cache_remember(key, from, until);
        return k;
}

int nv_rim_verify(NvRim *rim, const NvPin *pins, size_t n_pins, int64_t at, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        NvPin def;
        int k;

        if (!rim || !rim->doc)
                return -EINVAL;
        if (xmlsec_state < 0)
                return set_reason(ret_reason, -EIO, "xmlsec could not be initialised");
        if (!pins) {
                memcpy(def.spki_sha256, nv_rim_root_spki_sha256, 32);
                pins = &def;
                n_pins = 1;
        }
        k = nv_cert_chain_verify(rim->certs, 0, pins, n_pins, at, &why);
        if (k < 0)
                return k;
        if (k == 0) {
                return invalid(ret_reason, "signer chain: %s", why ?: "does not verify");
        }
        return signature_verify_cached(rim, sk_X509_value(rim->certs, 0), at, ret_reason);
}
