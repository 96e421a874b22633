/* SPDX-License-Identifier: Apache-2.0 */
/* The plan of one launch: host facts, TEE check, placement, CID, domain XML, launch digest. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm/guest-proto.h"
#include "cvm/launch-plan.h"
#include "cvm/launch-predict.h"
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

/* A digest as lowercase hex into a buffer of 2 * LAUNCH_DIGEST_SIZE + 1. */
static int hex_to_buffer(const uint8_t digest[LAUNCH_DIGEST_SIZE], char ret[2 * LAUNCH_DIGEST_SIZE + 1]) {
        _cleanup_free_ char *hex = hex_encode(digest, LAUNCH_DIGEST_SIZE);

        if (!hex)
                return -ENOMEM;
        memcpy(ret, hex, 2 * LAUNCH_DIGEST_SIZE + 1);
        return 0;
}

/* A failure of step `what`: -ENOMEM stays, anything else becomes `as` with the step named. */
static int refuse(int r, int as, char **ret_reason, const char *what, char *why) {
        _cleanup_free_ char *owned = why;

        if (r == -ENOMEM)
                return r;
        return set_reason(ret_reason, as, "%s: %s", what, why ? why : strerror(-r));
}

static int host_from_files(const LaunchPlanOptions *o, const PciAddress *devices, size_t n_devices, HostProbe **ret,
                           char **ret_reason) {
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
        if (o->nodedev_dir && (r = host_probe_devices_from_dir(host, o->nodedev_dir, devices, n_devices, &why)) < 0)
                return refuse(r, -EINVAL, ret_reason, "node devices", why);
        if (o->host_root && (r = host_probe_read_host_files(host, o->host_root, &why)) < 0)
                return refuse(r, -EINVAL, ret_reason, "host files", why);
        *ret = TAKE_PTR(host);
        return 0;
}

/* The spec's GPUs, then its NVSwitches: every device the host probe looks at. */
static PciAddress *spec_devices(const LaunchSpec *spec, size_t *ret_n) {
        PciAddress *v = calloc(spec->n_gpus + spec->n_nvswitches + 1, sizeof(PciAddress));

        if (!v)
                return NULL;
        /* memcpy() with a NULL source is undefined even for 0 bytes */
        if (spec->n_gpus > 0)
                memcpy(v, spec->gpus, spec->n_gpus * sizeof(PciAddress));
        if (spec->n_nvswitches > 0)
                memcpy(v + spec->n_gpus, spec->nvswitches, spec->n_nvswitches * sizeof(PciAddress));
        *ret_n = spec->n_gpus + spec->n_nvswitches;
        return v;
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

/* The lock in the state directory that every launch on this host takes (cvmd's and cvmctl's),
 * unless the connection already has one; none when the directory does not exist (a
 * development setup, libvirt's test driver). */
static int set_ledger_lock(Lifecycle *l, const LaunchPlanOptions *o) {
        const char *dir = o->state_dir ? o->state_dir : DOMAIN_XML_STATE_DIR_DEFAULT;
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (!o->state_dir && lifecycle_has_ledger_lock(l))
                return 0;
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        path = strdup_printf("%s/ledger.lock", dir);
        if (!path)
                return -ENOMEM;
        return lifecycle_set_ledger_lock(l, path, o->ledger_lock_timeout_sec ? o->ledger_lock_timeout_sec : 60);
}

/* The spec digest and, when asked, the prediction: from the boot files' contents when a
 * releaser key is bound (what a guest will carry) or a prediction is asked for; offline
 * rendering without a key names the files by path, as they may live on another host. */
int launch_plan_boot_contents(const LaunchSpec *spec, const LaunchPlanOptions *o, LaunchPlan *p, char **ret_reason) {
        _cleanup_(launch_boot_files_done) LaunchBootFiles files = {};
        char *why = NULL;
        uint32_t vcpu_sig = 0;
        int r;

        if (!(o->releaser_key && launch_spec_has_boot_files(spec)) && !o->predict) {
                if (launch_spec_digest(spec, p->spec_digest) < 0)
                        return set_reason(ret_reason, -ENOMEM, "cannot compute the launch digest");
                return 0;
        }
        r = launch_boot_files_read(spec, &files, &why);
        if (r < 0)
                return refuse(r, -EPERM, ret_reason, "boot files", why);
        r = launch_boot_spec_digest(spec, &files, p->spec_digest);
        if (r < 0)
                return set_reason(ret_reason, r == -ENOMEM ? r : -EIO, "cannot compute the launch digest");
        p->has_boot_contents = true;
        p->has_firmware = files.has_firmware;
        p->has_kernel = files.has_kernel;
        p->has_initrd = files.has_initrd;
        memcpy(p->firmware_sha384, files.firmware_sha384, sizeof(p->firmware_sha384));
        memcpy(p->kernel_sha384, files.kernel_sha384, sizeof(p->kernel_sha384));
        memcpy(p->initrd_sha384, files.initrd_sha384, sizeof(p->initrd_sha384));
        if (!o->predict)
                return 0;
        if (o->predict_tee == CVM_TEE_SEV_SNP && (r = launch_predict_host_vcpu_sig(o->host_root, &vcpu_sig, &why)) < 0)
                return refuse(r, -EPERM, ret_reason, "cannot predict the measurement", why);
        r = launch_predict(spec, &files, o->predict_tee, vcpu_sig, p->predicted, &why);
        if (r < 0)
                return refuse(r, -EPERM, ret_reason, "cannot predict the measurement", why);
        p->has_prediction = true;
        p->predicted_tee = o->predict_tee;
        return 0;
}

static int plan_build(const LaunchSpec *spec, Lifecycle *l, const LaunchPlanOptions *o, LaunchPlan **ret,
                      char **ret_reason) {
        _cleanup_(launch_plan_freep) LaunchPlan *p = calloc(1, sizeof(LaunchPlan));
        _cleanup_(placement_ledger_done) PlacementLedger ledger = {};
        _cleanup_free_ PciAddress *devices = NULL;
        const char *holder;
        size_t n_devices = 0;
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

        devices = spec_devices(spec, &n_devices);
        if (!devices)
                return -ENOMEM;
        if (files)
                r = host_from_files(o, devices, n_devices, &p->host, ret_reason);
        else if ((r = host_probe_libvirt(lifecycle_connection(l), devices, n_devices, o->host_root, &p->host, &why)) < 0)
                r = refuse(r, -EPERM, ret_reason, "host probe", why);
        if (r < 0)
                return r;
        r = host_probe_tee_refusal(p->host, spec->tee, &why);
        if (r < 0 || why)
                return refuse(r < 0 ? r : -EPERM, -EPERM, ret_reason, "this host cannot run the spec", why);
        r = host_probe_spec_refusal(p->host, spec, &why);
        if (r < 0 || why)
                return refuse(r < 0 ? r : -EPERM, -EPERM, ret_reason, "this host cannot run the spec", why);

        /* The host ledger: what every running domain holds, read under the ledger lock, which
         * stays held until the domain is created (none offline). */
        if (l && (r = set_ledger_lock(l, o)) < 0)
                return r;
        if (l && (r = lifecycle_rebuild_host_ledger(l, p->host, &ledger, &why)) < 0)
                return refuse(r, -EPERM, ret_reason, "host ledger", why);
        r = placement_compute(spec, p->host, &ledger, &po, &p->placement, &why);
        if (r < 0)
                return refuse(r, -EPERM, ret_reason, "placement refused", why);

        /* a CID no domain on the host holds, cvmd's or not */
        p->vsock_cid = spec->vsock_cid ? spec->vsock_cid : o->vsock_cid;
        if (p->vsock_cid && (holder = placement_ledger_cid_holder(&ledger, p->vsock_cid)))
                return set_reason(ret_reason, -EPERM, "vsock CID: %u is held by domain '%s'", p->vsock_cid, holder);
        if (!p->vsock_cid)
                p->vsock_cid = placement_ledger_free_cid(&ledger);
        p->placement->vsock_cid = p->vsock_cid;

        /* the launch digest: the spec's, bound to the releaser that alone may release keys to
         * this VM (its agent recomputes it from the challenge and compares with hardware's); a
         * bound spec names its files by content, read once here, and so does the prediction */
        r = launch_plan_boot_contents(spec, o, p, ret_reason);
        if (r < 0)
                return r;
        if (o->releaser_key) {
                static_assert(LAUNCH_DIGEST_SIZE == PROTO_SPEC_DIGEST_SIZE, "one digest size");
                memcpy(p->releaser_key, o->releaser_key, sizeof(p->releaser_key));
                p->has_releaser_key = true;
                proto_launch_digest(p->spec_digest, p->releaser_key, p->launch_digest);
        } else
                memcpy(p->launch_digest, p->spec_digest, sizeof(p->launch_digest));
        r = hex_to_buffer(p->spec_digest, p->spec_digest_hex);
        if (r >= 0)
                r = hex_to_buffer(p->launch_digest, p->launch_digest_hex);
        if (r < 0)
                return r;

        xo = (DomainXmlOptions) {
                .domain_type = type,
                /* the test driver knows no q35 machine and no x86_64 emulator */
                .arch = streq(type, "test") ? "" : NULL,
                .machine = streq(type, "test") ? "" : NULL,
                .qgs_path = o->qgs_path,
                .vsock_cid = p->vsock_cid,
                .state_dir = o->state_dir,
                .launch_digest = p->launch_digest,
                .spec_digest = p->spec_digest,
        };
        r = domain_xml_render(spec, p->host, p->placement, &xo, &p->xml, &why);
        if (r < 0)
                return refuse(r, -EPERM, ret_reason, "cannot render", why);

        *ret = TAKE_PTR(p);
        return 0;
}

int launch_plan_build(const LaunchSpec *spec, Lifecycle *l, const LaunchPlanOptions *o, LaunchPlan **ret,
                      char **ret_reason) {
        int r = plan_build(spec, l, o, ret, ret_reason);

        /* refused: nothing will be created from this ledger */
        if (r < 0 && l)
                lifecycle_ledger_unlock(l);
        return r;
}

/* {"firmware", "kernel", "initrd"}: the SHA-384 of each file booted, by what the spec names. */
static int add_boot_contents(json_object *o, const LaunchPlan *p) {
        const struct {
                const char *name;
                bool has;
                const uint8_t *digest;
        } files[] = {
                { "firmware", p->has_firmware, p->firmware_sha384 },
                { "kernel", p->has_kernel, p->kernel_sha384 },
                { "initrd", p->has_initrd, p->initrd_sha384 },
        };
        json_object *c = json_object_new_object();

        if (!c)
                return -ENOMEM;
        json_object_object_add(o, "boot_contents", c);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *h = NULL;
                if (!files[i].has)
                        continue;
                h = hex_encode(files[i].digest, 48);
                if (!h)
                        return -ENOMEM;
                json_object_object_add(c, files[i].name, json_object_new_string(h));
        }
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
        json_object_object_add(o, "spec_digest", json_object_new_string(p->spec_digest_hex));
        if (p->has_releaser_key) {
                _cleanup_free_ char *rk = hex_encode(p->releaser_key, sizeof(p->releaser_key));
                if (!rk)
                        return NULL;
                json_object_object_add(o, "releaser_key", json_object_new_string(rk));
        } else
                json_object_object_add(o, "releaser_key", NULL);
        json_object_object_add(o, "launch_digest", json_object_new_string(p->launch_digest_hex));
        if (p->spec->tee == CVM_TEE_SEV_SNP)
                json_object_object_add(o, "snp_host_data",
                                       json_object_new_string_len(p->launch_digest_hex, 2 * LAUNCH_SNP_HOST_DATA_SIZE));
        else if (p->spec->tee == CVM_TEE_TDX)
                json_object_object_add(o, "tdx_mrconfigid", json_object_new_string(p->launch_digest_hex));
        if (p->has_boot_contents && add_boot_contents(o, p) < 0) {
                json_object_put(pj);
                return NULL;
        }
        if (p->has_prediction) {
                _cleanup_free_ char *h = hex_encode(p->predicted, sizeof(p->predicted));
                if (!h) {
                        json_object_put(pj);
                        return NULL;
                }
                json_object_object_add(o, p->predicted_tee == CVM_TEE_TDX ? "predicted_mrtd" : "predicted_measurement",
                                       json_object_new_string(h));
        }
        json_object_object_add(o, "vsock_cid", json_object_new_int64(p->vsock_cid));
        json_object_object_add(o, "placement", pj);
        json_object_object_add(o, "xml", json_object_new_string(p->xml));
        return TAKE_PTR(o);
}
