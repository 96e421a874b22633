/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded libxml2 reading shared by the host probe and the metadata parser, and the programs'
 * one-time silencing of libxml2's own error printing. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <libxml/globals.h>
#include <libxml/xmlerror.h>

#include "cvm/xml-quiet.h"
#include "launcher-internal.h"

static void discard(void *ctx, const char *msg, ...) {
}

void xml_quiet_errors(void) {
        xmlInitParser();
        /* the default for threads that start later, then this thread's own */
        xmlThrDefSetGenericErrorFunc(NULL, discard);
        xmlSetGenericErrorFunc(NULL, discard);
}

int xml_read(const char *xml, size_t size, size_t max, xmlDoc **ret) {
        xmlDoc *doc;

        if (!xml || size == 0)
                return -EBADMSG;
        if (size > max || size > INT_MAX)
                return -EFBIG;
        doc = xmlReadMemory(xml, (int) size, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
        if (!doc)
                return -EBADMSG;
        if (!xmlDocGetRootElement(doc)) {
                xmlFreeDoc(doc);
                return -EBADMSG;
        }
        *ret = doc;
        return 0;
}

bool xml_is(xmlNode *n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && (!name || xmlStrcmp(n->name, BAD_CAST name) == 0);
}

xmlNode *xml_next(xmlNode *n, const char *name) {
        for (n = n ? n->next : NULL; n; n = n->next)
                if (xml_is(n, name))
                        return n;
        return NULL;
}

xmlNode *xml_child(xmlNode *n, const char *name) {
        if (!n)
                return NULL;
        for (n = n->children; n; n = n->next)
                if (xml_is(n, name))
                        return n;
        return NULL;
}

int parse_u64_strict(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
                s++;
        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (max - d) / 10)
                        return -EINVAL;
                v = v * 10 + d;
        }
        while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
                s++;
        if (*s)
                return -EINVAL;
        *ret = v;
        return 0;
}

int xml_prop_u64(xmlNode *n, const char *attr, uint64_t max, uint64_t *ret) {
        _cleanup_xmlfree_ xmlChar *v = xmlGetProp(n, BAD_CAST attr);

        if (!v)
                return -ENOENT;
        return parse_u64_strict((const char *) v, max, ret);
}

int xml_text_u64(xmlNode *n, uint64_t max, uint64_t *ret) {
        _cleanup_xmlfree_ xmlChar *v = NULL;

        if (!n)
                return -ENOENT;
        v = xmlNodeGetContent(n);
        if (!v)
                return -ENOENT;
        return parse_u64_strict((const char *) v, max, ret);
}

int xml_text_kib(xmlNode *n, uint64_t *ret) {
        static const struct {
                const char *unit;
                uint64_t mul, div;
        } units[] = {
                { "b", 1, 1024 },       { "bytes", 1, 1024 },          { "KiB", 1, 1 },       { "k", 1, 1 },
                { "MiB", 1024, 1 },     { "M", 1024, 1 },              { "GiB", 1048576, 1 }, { "G", 1048576, 1 },
                { "TiB", 1073741824, 1 },
        };
        _cleanup_xmlfree_ xmlChar *u = NULL;
        uint64_t v;
        int r;

        r = xml_text_u64(n, UINT64_MAX, &v);
        if (r < 0)
                return r;
        u = xmlGetProp(n, BAD_CAST "unit");
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (!u ? i == 2 : streq((const char *) u, units[i].unit)) {
                        if (v > UINT64_MAX / units[i].mul)
                                return -EINVAL;
                        *ret = v * units[i].mul / units[i].div;
                        return 0;
                }
        return -EINVAL;
}

bool xml_prop_is(xmlNode *n, const char *attr, const char *value) {
        _cleanup_xmlfree_ xmlChar *v = n ? xmlGetProp(n, BAD_CAST attr) : NULL;

        return v && streq((const char *) v, value);
}

char *xml_text(xmlNode *n) {
        _cleanup_xmlfree_ xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
        const char *s = v ? (const char *) v : "";
        size_t len;

        while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
                s++;
        len = strlen(s);
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\t' || s[len - 1] == '\r'))
                len--;
        return strndup(s, len);
}
