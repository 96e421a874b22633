/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Helpers the launcher's files share: bounded libxml2 reading of libvirt's XML, and libvirt's
 * errors as errnos. */

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdint.h>

#include "cvm/cleanup.h"
#include "cvm/macro.h"

/* Parses without network access, entity expansion or error printing; -EBADMSG when malformed,
 * -EFBIG above max bytes. */
int xml_read(const char *xml, size_t size, size_t max, xmlDoc **ret);
/* The first element child of n named name (any name when NULL), or NULL. */
xmlNode *xml_child(xmlNode *n, const char *name);
/* The next element sibling after n named name (any name when NULL), or NULL. */
xmlNode *xml_next(xmlNode *n, const char *name);
bool xml_is(xmlNode *n, const char *name);
/* A decimal attribute or element text in [0, max]; -ENOENT when absent, -EINVAL when not a
 * plain decimal number in range. */
int xml_prop_u64(xmlNode *n, const char *attr, uint64_t max, uint64_t *ret);
int xml_text_u64(xmlNode *n, uint64_t max, uint64_t *ret);
/* A size in KiB from element text plus its unit attribute (b, KiB, MiB, GiB, TiB; KiB when
 * absent). */
int xml_text_kib(xmlNode *n, uint64_t *ret);
/* Attribute equals value. */
bool xml_prop_is(xmlNode *n, const char *attr, const char *value);
/* The element's text, trimmed, malloc'ed (never NULL unless OOM: "" when empty). */
char *xml_text(xmlNode *n);
int parse_u64_strict(const char *s, uint64_t max, uint64_t *ret);

/* libvirt's last error (virGetLastError()) as a negative errno: -ENOENT no such domain, node
 * device or metadata; -EPERM denied; -EINVAL invalid; -EEXIST exists; -EOPNOTSUPP; -ENOMEM;
 * -EIO otherwise or when there is none. */
int vir_last_errno(void);
