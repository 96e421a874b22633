/* SPDX-License-Identifier: Apache-2.0 */
/* GPU evidence through NVML, loaded with dlopen so the agent runs (and says why it cannot
 * attest GPUs) on guests without the NVIDIA driver. The report and certificate structures are
 * read as bytes at the offsets of nvml.h (specs/guest-abi-and-hpke.md §5), never cast. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "cvm/reader.h"
#include "cvm/util.h"

#define NVML_SUCCESS 0
#define REPORT_STRUCT_SIZE 12332u /* nvmlConfComputeGpuAttestationReport_t */
#define CERT_STRUCT_SIZE 9224u    /* nvmlConfComputeGpuCertificate_t */
#define REPORT_MAX 0x2000u
#define CERT_CHAIN_MAX 0x1400u
#define PCI_INFO_SIZE 68u   /* nvmlPciInfo_t (v3): busIdLegacy[16], domain, bus, device, ids, busId[32] */
#define CC_STATE_SIZE 12u   /* nvmlConfComputeSystemState_t: environment, ccFeature, devToolsMode */

typedef void *NvmlDevice;

typedef struct Nvml {
        void *lib;
        int (*init)(void);
        int (*shutdown)(void);
        int (*count)(unsigned *);
        int (*handle)(unsigned, NvmlDevice *);
        int (*report)(NvmlDevice, void *);
        int (*cert)(NvmlDevice, void *);
        int (*set_ready)(unsigned);
        int (*pci_info)(NvmlDevice, void *);
        int (*cc_state)(void *);
        const char *(*error_string)(int);
} Nvml;

static void nvml_close(Nvml *n) {
        if (n->lib) {
                if (n->shutdown)
                        (void) n->shutdown();
                dlclose(n->lib);
        }
        *n = (Nvml) {};
}

static int nvml_open(Nvml *n, char **ret_reason) {
        static const struct {
                const char *name;
                size_t offset;
        } syms[] = {
                { "nvmlInit_v2", offsetof(Nvml, init) },
                { "nvmlShutdown", offsetof(Nvml, shutdown) },
                { "nvmlDeviceGetCount_v2", offsetof(Nvml, count) },
                { "nvmlDeviceGetHandleByIndex_v2", offsetof(Nvml, handle) },
                { "nvmlDeviceGetConfComputeGpuAttestationReport", offsetof(Nvml, report) },
                { "nvmlDeviceGetConfComputeGpuCertificate", offsetof(Nvml, cert) },
                { "nvmlSystemSetConfComputeGpusReadyState", offsetof(Nvml, set_ready) },
                { "nvmlDeviceGetPciInfo_v3", offsetof(Nvml, pci_info) },
                { "nvmlSystemGetConfComputeState", offsetof(Nvml, cc_state) },
                { "nvmlErrorString", offsetof(Nvml, error_string) },
        };
        int rc;

        *n = (Nvml) {};
        n->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!n->lib)
                return set_reason(ret_reason, -ENOENT, "NVML (libnvidia-ml.so.1) is not installed: %s", dlerror());
        for (size_t i = 0; i < ELEMENTSOF(syms); i++) {
                void *f = dlsym(n->lib, syms[i].name);
                if (!f) {
                        nvml_close(n);
                        return set_reason(ret_reason, -EOPNOTSUPP,
                                          "NVML lacks %s: the driver is older than R535 (CUDA 12.2)", syms[i].name);
                }
                memcpy((uint8_t *) n + syms[i].offset, &f, sizeof(f));
        }
        rc = n->init();
        if (rc != NVML_SUCCESS) {
                int r = set_reason(ret_reason, -EIO, "nvmlInit failed: %s", n->error_string(rc));
                dlclose(n->lib);
                *n = (Nvml) {};
                return r;
        }
        return 0;
}

static int copy_sized(Reader *rd, size_t size_off, size_t data_off, size_t max, ProtoBlob *ret) {
        uint32_t size;

        if (reader_seek(rd, size_off) < 0 || reader_le32(rd, &size) < 0 || size == 0 || size > max ||
            reader_seek(rd, data_off) < 0)
                return -EBADMSG;
        ret->data = malloc(size);
        if (!ret->data)
                return -ENOMEM;
        ret->size = size;
        return reader_copy(rd, ret->data, size);
}

/* The CC mode, as the driver reports it for the system (NVML has no per-GPU CC mode query: every
 * GPU of a guest is in the system's mode). */
static int cc_mode(Nvml *nv, ProtoGpuCc *ret, char **ret_reason) {
        uint8_t st[CC_STATE_SIZE] = {};
        uint32_t feature, devtools;
        Reader rd = reader_init(st, sizeof(st));
        int rc = nv->cc_state(st);

        if (rc != NVML_SUCCESS)
                return set_reason(ret_reason, -EIO, "NVML: cannot read the CC state: %s", nv->error_string(rc));
        if (reader_seek(&rd, 4) < 0 || reader_le32(&rd, &feature) < 0 || reader_le32(&rd, &devtools) < 0)
                return -EBADMSG;
        *ret = feature == 0 ? PROTO_GPU_CC_OFF : devtools != 0 ? PROTO_GPU_CC_DEVTOOLS : PROTO_GPU_CC_ON;
        return 0;
}

/* "dddd:bb:ss.f" from nvmlPciInfo_t: domain, bus and device from their fields, the function
 * from the end of busId ("00000000:41:00.0"). */
static int pci_address(Nvml *nv, NvmlDevice dev, char ret[PROTO_PCI_ADDRESS_SIZE], char **ret_reason) {
        uint8_t info[PCI_INFO_SIZE] = {};
        uint32_t domain, bus, slot;
        const uint8_t *bus_id;
        const char *dot;
        Reader rd = reader_init(info, sizeof(info));
        int rc = nv->pci_info(dev, info);

        if (rc != NVML_SUCCESS)
                return set_reason(ret_reason, -EIO, "NVML: cannot read the PCI address: %s", nv->error_string(rc));
        if (reader_seek(&rd, 16) < 0 || reader_le32(&rd, &domain) < 0 || reader_le32(&rd, &bus) < 0 ||
            reader_le32(&rd, &slot) < 0 || reader_seek(&rd, 36) < 0 || reader_take(&rd, 32, &bus_id) < 0)
                return -EBADMSG;
        dot = memchr(bus_id, '.', 32);
        if (domain > 0xffff || bus > 0xff || slot > 0x1f || !dot || dot + 1 >= (const char *) bus_id + 32 ||
            dot[1] < '0' || dot[1] > '7' || (dot + 2 < (const char *) bus_id + 32 && dot[2] != 0))
                return set_reason(ret_reason, -EBADMSG, "NVML returned a malformed PCI address");
        snprintf(ret, PROTO_PCI_ADDRESS_SIZE, "%04x:%02x:%02x.%c", domain, bus, slot, dot[1]);
        return 0;
}

int gpu_evidence_get(uint32_t n, const uint8_t nonce[PROTO_NONCE_SIZE], ProtoMsg *ev, char **ret_reason) {
        _cleanup_free_ uint8_t *rep = malloc(REPORT_STRUCT_SIZE), *cert = malloc(CERT_STRUCT_SIZE);
        ProtoGpuCc cc = PROTO_GPU_CC_OFF;
        Nvml nv;
        unsigned count = 0;
        int r, rc;

        if (n == 0)
                return 0;
        if (n > PROTO_GPUS_MAX)
                return set_reason(ret_reason, -EINVAL, "%u GPUs asked for, at most %u are supported", n, PROTO_GPUS_MAX);
        if (!rep || !cert)
                return -ENOMEM;
        r = nvml_open(&nv, ret_reason);
        if (r < 0)
                return r;
        rc = nv.count(&count);
        if (rc != NVML_SUCCESS || count < n) {
                r = set_reason(ret_reason, -ENODEV, "%u GPUs were asked for, NVML sees %u", n,
                               rc == NVML_SUCCESS ? count : 0);
                goto out;
        }
        r = cc_mode(&nv, &cc, ret_reason);
        if (r < 0)
                goto out;
        for (uint32_t i = 0; i < n; i++) {
                NvmlDevice dev;
                Reader rd;

                if ((rc = nv.handle(i, &dev)) != NVML_SUCCESS) {
                        r = set_reason(ret_reason, -EIO, "GPU %u: NVML: %s", i, nv.error_string(rc));
                        goto out;
                }
                r = pci_address(&nv, dev, ev->gpu_pci[i], ret_reason);
                if (r < 0)
                        goto out;
                ev->gpu_cc[i] = cc;
                memset(rep, 0, REPORT_STRUCT_SIZE);
                /* the nonce (an input, at offset 12) binds this GPU's address and mode */
                proto_gpu_nonce(nonce, ev->pubkey, i, ev->gpu_pci[i], cc, rep + 12);
                memset(cert, 0, CERT_STRUCT_SIZE);
                if ((rc = nv.report(dev, rep)) != NVML_SUCCESS || (rc = nv.cert(dev, cert)) != NVML_SUCCESS) {
                        r = set_reason(ret_reason, -EIO, "GPU %u: NVML: %s", i, nv.error_string(rc));
                        goto out;
                }
                ev->n_gpus = i + 1; /* ev owns what is filled in */
                rd = reader_init(rep, REPORT_STRUCT_SIZE);
                if ((r = copy_sized(&rd, 4, 44, REPORT_MAX, &ev->gpu_reports[i])) < 0) {
                        r = set_reason(ret_reason, r, "GPU %u: NVML returned a malformed attestation report", i);
                        goto out;
                }
                rd = reader_init(cert, CERT_STRUCT_SIZE);
                if ((r = copy_sized(&rd, 4, 4104, CERT_CHAIN_MAX, &ev->gpu_chains[i])) < 0) {
                        r = set_reason(ret_reason, r, "GPU %u: NVML returned a malformed certificate chain", i);
                        goto out;
                }
        }
        ev->n_gpus = n;
        r = 0;
out:
        nvml_close(&nv);
        return r;
}

int gpu_set_ready(char **ret_reason) {
        Nvml nv;
        int r, rc;

        r = nvml_open(&nv, ret_reason);
        if (r < 0)
                return r;
        rc = nv.set_ready(1);
        r = rc == NVML_SUCCESS ? 0 : set_reason(ret_reason, -EIO, "cannot set the GPUs ready: %s", nv.error_string(rc));
        nvml_close(&nv);
        return r;
}
