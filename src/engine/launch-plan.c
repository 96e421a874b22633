/* SPDX-License-Identifier: Apache-2.0 */
/* The plan of one launch: host facts, TEE check, placement, CID, domain XML, launch digest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cvm/launch-plan.h"
#include "cvm/util.h"
#include "cvm/verdict.h" /* json_object_putp */

LaunchPlan *launch_plan_free(LaunchPlan *p) {
        if (!p)
                return NULL;
        host_probe_free(p->host);
        placement_free(p->placement);
        free(p->xml);
        free(p);
        return NULL;
}

/* A failure of step `what`: -ENOMEM stays, anything else becomes `as` with the step named. */
static int refuse(int r, int as, char **ret_reason, const char *what, char *why) {
        _cleanup_free_ char *owned = why;

        if (r == -ENOMEM)
                return r;
        return set_reason(ret_reason, as, "%s: %s", what, why ? why : strerror(-r));
}

static int host_from_files(const LaunchPlanOptions *o, HostProbe **ret, char **ret_reason) {
        _cleanup_(host_probe_freep) HostProbe *host = host_probe_new();
        char *why = NULL;
        int r;

        if (!host)
                return -ENOMEM;
        r = host_probe_parse_caps(host, o->host_caps_xml, o->host_caps_size, &why);
        if (r < 0)
                return refuse(r, -EINVAL, ret_reason, "host capabilities", why);
        r = host_probe_parse_domcaps(host, o->domcaps_xml, o->domcaps_size, &why);
        if (r < 0)
                return refuse(r, -EINVAL, ret_reason, "domain capabilities", why);
        for (size_t i = 0; i < o->n_gpus; i++)
                if (host_probe_set_gpu(host, &o->gpus[i].address, o->gpus[i].cell, -1, NULL) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(host);
        return 0;
}

int launch_gpu_location_parse(const char *s, LaunchGpuLocation *ret) {
        const char *at = strchr(s, '@');
        char bdf[32], *end;
        unsigned long cell;

        if (!at || (size_t) (at - s) >= sizeof(bdf) || at[1] < '0' || at[1] > '9' || strlen(at + 1) > 4)
                return -EINVAL;
        memcpy(bdf, s, (size_t) (at - s));
        bdf[at - s] = '\0';
        if (pci_address_parse(bdf, &ret->address) < 0)
                return -EINVAL;
        cell = strtoul(at + 1, &end, 10);
        if (*end)
                return -EINVAL;
        ret->cell = (int) cell;
        return 0;
}

int launch_plan_build(const LaunchSpec *spec, Lifecycle *l, const LaunchPlanOptions *o, LaunchPlan **ret,
                      char **ret_reason) {
        _cleanup_(launch_plan_freep) LaunchPlan *p = calloc(1, sizeof(LaunchPlan));
        _cleanup_(placement_ledger_done) PlacementLedger ledger = {};
        bool files = o->host_caps_xml && o->domcaps_xml;
        const char *type = o->domain_type ? o->domain_type : "kvm";
        PlacementOptions po = { .housekeeping_cores = o->housekeeping_cores };
        DomainXmlOptions xo;
        char *why = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        if (!files && !l)
                return set_reason(ret_reason, -EINVAL, "host: neither capability files nor a libvirt connection");
        p->spec = spec;

        if (files)
                r = host_from_files(o, &p->host, ret_reason);
        else if ((r = host_probe_libvirt(lifecycle_connection(l), spec->gpus, spec->n_gpus, NULL, &p->host, &why)) < 0)
                r = refuse(r, -EPERM, ret_reason, "host probe", why);
        if (r < 0)
                return r;
        r = host_probe_tee_refusal(p->host, spec->tee, &why);
        if (r < 0 || why)
                return refuse(r < 0 ? r : -EPERM, -EPERM, ret_reason, "this host cannot run the spec", why);

        /* The ledger of what cvmd's running domains hold: none offline. */
        if (l && (r = lifecycle_rebuild_ledger(l, &ledger, &why)) < 0)
                return refuse(r, -EPERM, ret_reason, "cvmd's domains", why);
        r = placement_compute(spec, p->host, &ledger, &po, &p->placement, &why);
        if (r < 0)
                return refuse(r, -EPERM, ret_reason, "placement refused", why);

        p->vsock_cid = spec->vsock_cid ? spec->vsock_cid : o->vsock_cid;
        if (!p->vsock_cid) {
                if (!l)
                        p->vsock_cid = LAUNCH_SPEC_VSOCK_CID_MIN;
                else if ((r = lifecycle_next_vsock_cid(l, &p->vsock_cid, &why)) < 0)
                        return refuse(r, -EPERM, ret_reason, "vsock CID", why);
        }

        xo = (DomainXmlOptions) {
                .domain_type = type,
                /* the test driver knows no q35 machine and no x86_64 emulator */
                .arch = streq(type, "test") ? "" : NULL,
                .machine = streq(type, "test") ? "" : NULL,
                .qgs_path = o->qgs_path,
                .vsock_cid = p->vsock_cid,
        };
        r = domain_xml_render(spec, p->host, p->placement, &xo, &p->xml, &why);
        if (r < 0)
                return refuse(r, -EPERM, ret_reason, "cannot render", why);
        if (launch_spec_digest(spec, p->launch_digest) < 0)
                return set_reason(ret_reason, -ENOMEM, "cannot compute the launch digest");
        {
                _cleanup_free_ char *hex = hex_encode(p->launch_digest, LAUNCH_DIGEST_SIZE);
                if (!hex)
                        return -ENOMEM;
                memcpy(p->launch_digest_hex, hex, sizeof(p->launch_digest_hex));
        }

        *ret = TAKE_PTR(p);
        return 0;
}

json_object *launch_plan_to_json(const LaunchPlan *p) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *pj = placement_to_json(p->placement);

        if (!o || !pj) {
                json_object_put(pj);
                return NULL;
        }
        json_object_object_add(o, "rendered", json_object_new_boolean(true));
        json_object_object_add(o, "name", json_object_new_string(p->spec->name));
        json_object_object_add(o, "tee", json_object_new_string(cvm_tee_to_string(p->spec->tee)));
        json_object_object_add(o, "launch_digest", json_object_new_string(p->launch_digest_hex));
        if (p->spec->tee == CVM_TEE_SEV_SNP)
                json_object_object_add(o, "snp_host_data",
                                       json_object_new_string_len(p->launch_digest_hex, 2 * LAUNCH_SNP_HOST_DATA_SIZE));
        else if (p->spec->tee == CVM_TEE_TDX)
                json_object_object_add(o, "tdx_mrconfigid", json_object_new_string(p->launch_digest_hex));
        json_object_object_add(o, "vsock_cid", json_object_new_int64(p->vsock_cid));
        json_object_object_add(o, "placement", pj);
        json_object_object_add(o, "xml", json_object_new_string(p->xml));
        return TAKE_PTR(o);
}
