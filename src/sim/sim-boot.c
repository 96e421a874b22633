/* SPDX-License-Identifier: Apache-2.0 */
/* The boot of a simulated guest, from the domain XML a launch defined: which firmware, kernel,
 * initrd and command line, how many vCPUs; and what a guest booted so attests, computed with
 * the same attest/measure code a real launch's prediction uses. */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/launch-predict.h"
#include "cvm/measure-files.h"
#include "cvm/sim-boot.h"
#include "cvm/util.h"

static bool is_element(xmlNode *n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static xmlNode *child(xmlNode *n, const char *name) {
        for (n = n ? n->children : NULL; n; n = n->next)
                if (is_element(n, name))
                        return n;
        return NULL;
}

/* The element's text as written (a command line keeps its spaces); NULL when absent or empty. */
static int text_of(xmlNode *n, char **ret) {
        xmlChar *t;

        *ret = NULL;
        if (!n)
                return 0;
        t = xmlNodeGetContent(n);
        if (!t)
                return -ENOMEM;
        if (t[0] != '\0' && !(*ret = strdup((const char *) t))) {
                xmlFree(t);
                return -ENOMEM;
        }
        xmlFree(t);
        return 0;
}

static int parse_vcpus(xmlNode *n, unsigned *ret) {
        _cleanup_free_ char *s = NULL;
        unsigned long v;
        char *end;

        if (text_of(n, &s) < 0)
                return -ENOMEM;
        if (!s || s[0] < '0' || s[0] > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v == 0 || v > SNP_VCPUS_MAX)
                return -EBADMSG;
        *ret = (unsigned) v;
        return 0;
}

void sim_boot_done(SimBoot *b) {
        if (!b)
                return;
        free(b->firmware);
        free(b->kernel);
        free(b->initrd);
        free(b->cmdline);
        *b = (SimBoot) {};
}

int sim_boot_parse(const char *xml, size_t size, SimBoot *ret, char **ret_reason) {
        _cleanup_(sim_boot_done) SimBoot b = {};
        xmlNode *root, *os;
        xmlDoc *doc;
        int r;

        if (size == 0 || size > SIM_BOOT_XML_MAX || size > INT_MAX)
                return set_reason(ret_reason, -EBADMSG, "domain XML: empty or larger than %u KiB",
                                  SIM_BOOT_XML_MAX >> 10);
        doc = xmlReadMemory(xml, (int) size, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
        if (!doc)
                return set_reason(ret_reason, -EBADMSG, "domain XML: not well-formed");
        root = xmlDocGetRootElement(doc);
        os = is_element(root, "domain") ? child(root, "os") : NULL;
        if (!os)
                r = set_reason(ret_reason, -EBADMSG, "domain XML: no <domain> with an <os> element");
        else if ((r = parse_vcpus(child(root, "vcpu"), &b.vcpus)) < 0)
                r = r == -ENOMEM ? r : set_reason(ret_reason, r, "domain XML: <vcpu>: expected 1 to %u", SNP_VCPUS_MAX);
        else if (text_of(child(os, "loader"), &b.firmware) < 0 || text_of(child(os, "kernel"), &b.kernel) < 0 ||
                 text_of(child(os, "initrd"), &b.initrd) < 0 || text_of(child(os, "cmdline"), &b.cmdline) < 0)
                r = -ENOMEM;
        else if (!b.kernel && (b.initrd || b.cmdline))
                r = set_reason(ret_reason, -EBADMSG, "domain XML: <initrd> or <cmdline> without a <kernel>");
        xmlFreeDoc(doc);
        if (r < 0)
                return r;
        *ret = b;
        b = (SimBoot) {};
        return 0;
}

int sim_boot_load(const char *dir, SimBoot *ret, char **ret_reason) {
        _cleanup_free_ char *path = strdup_printf("%s/%s", dir, SIM_BOOT_XML), *why = NULL;
        _cleanup_free_ uint8_t *xml = NULL;
        size_t size;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file_bounded(path, SIM_BOOT_XML_MAX, &xml, &size);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", path, strerror(-r));
        r = sim_boot_parse((const char *) xml, size, ret, &why);
        if (r < 0)
                return set_reason(ret_reason, r, "%s: %s", path, why ? why : strerror(-r));
        return 0;
}

int sim_boot_snp_measurement(const SimBoot *b, uint32_t vcpu_sig, uint8_t ret[48], char **ret_reason) {
        SnpMeasureFiles f = {
                .vmm = SNP_VMM_QEMU,
                .vcpus = b->vcpus,
                .vcpu_sig = vcpu_sig,
                .guest_features = LAUNCH_PREDICT_SNP_FEATURES,
                .firmware = b->firmware,
                .kernel = b->kernel,
                .initrd = b->initrd,
                .append = b->cmdline,
        };
        SnpMeasurement m;
        int r;

        if (!b->firmware)
                return set_reason(ret_reason, -EINVAL, "the domain names no firmware image to measure");
        r = snp_measure_files(&f, &m, NULL, ret_reason);
        if (r < 0)
                return r;
        memcpy(ret, m.measurement, 48);
        return 0;
}

int sim_boot_tdx_mrtd(const SimBoot *b, uint8_t ret[48], char **ret_reason) {
        if (!b->firmware)
                return set_reason(ret_reason, -EINVAL, "the domain names no firmware image to measure");
        return tdx_mrtd_file(b->firmware, ret, ret_reason);
}
