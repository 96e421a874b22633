/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The one reader of certificate bundles: TDX collateral issuer chains, the PCK chain inside a
 * quote, SNP certificate files and directories, GPU device chains, CRL files. It accepts every
 * shape that unambiguously holds whole certificates and refuses the rest with a reason naming
 * the byte offset:
 *   - one DER certificate (or CRL), nothing after it;
 *   - PEM blocks with LF or CRLF line ends, blank lines, trailing spaces or tabs, base64 on
 *     lines of any length, one block's END line glued to the next block's BEGIN line;
 *   - the same percent-encoded, as Intel PCS/PCCS send issuer chains in response headers
 *     ("-----BEGIN%20CERTIFICATE-----%0AMII...").
 * Refused: text outside the blocks, other block labels, PEM headers (Proc-Type), a block
 * without its END line, bad base64 or bad escapes, bytes after a DER object, more than
 * PEM_BUNDLE_MAX_CERTS certificates. */

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#define PEM_BUNDLE_MAX_CERTS 16

/* Certificates in order. -EBADMSG with a malloc'ed reason ("byte 812: ...") on refusal. */
int pem_bundle_parse(const uint8_t *data, size_t size, STACK_OF(X509) * *ret, char **ret_reason);
/* Exactly one CRL: DER, or one PEM "X509 CRL" block in the shapes above. */
int pem_bundle_parse_crl(const uint8_t *data, size_t size, X509_CRL **ret, char **ret_reason);
