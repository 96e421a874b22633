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

int gpu_evidence_get(uint32_t n, const uint8_t nonces[][32], ProtoBlob *ret_reports, ProtoBlob *ret_chains,
                     char **ret_reason) {
        _cleanup_free_ uint8_t *rep = malloc(REPORT_STRUCT_SIZE), *cert = malloc(CERT_STRUCT_SIZE);
        Nvml nv;
        unsigned count = 0;
        int r, rc;

        if (n == 0)
                return 0;
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
        for (uint32_t i = 0; i < n; i++) {
                NvmlDevice dev;
                Reader rd;

                memset(rep, 0, REPORT_STRUCT_SIZE);
                memcpy(rep + 12, nonces[i], 32); /* nonce is an input, at offset 12 */
                memset(cert, 0, CERT_STRUCT_SIZE);
                if ((rc = nv.handle(i, &dev)) != NVML_SUCCESS || (rc = nv.report(dev, rep)) != NVML_SUCCESS ||
                    (rc = nv.cert(dev, cert)) != NVML_SUCCESS) {
                        r = set_reason(ret_reason, -EIO, "GPU %u: NVML: %s", i, nv.error_string(rc));
                        goto out;
                }
                rd = reader_init(rep, REPORT_STRUCT_SIZE);
                if ((r = copy_sized(&rd, 4, 44, REPORT_MAX, &ret_reports[i])) < 0) {
                        r = set_reason(ret_reason, r, "GPU %u: NVML returned a malformed attestation report", i);
                        goto out;
                }
                rd = reader_init(cert, CERT_STRUCT_SIZE);
                if ((r = copy_sized(&rd, 4, 4104, CERT_CHAIN_MAX, &ret_chains[i])) < 0) {
                        r = set_reason(ret_reason, r, "GPU %u: NVML returned a malformed certificate chain", i);
                        goto out;
                }
        }
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
