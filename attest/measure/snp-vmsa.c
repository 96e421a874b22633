/* SPDX-License-Identifier: Apache-2.0 */
/* The initial VMSA of a vCPU, as each VMM builds it, and the CPU signatures QEMU reports.
 * Offsets are those of the SEV-ES save area (AMD APM volume 2, table B-4); every field not set
 * here is zero. A VMSA page is measured whole, so one wrong byte anywhere changes the launch
 * digest: the values below are the register state KVM and the named VMMs give a vCPU at reset. */
#include <string.h>
#include <strings.h>

#include "cvm/snp-measure.h"

/* Save area offsets (APM vol. 2, table B-4). */
enum {
        VMSA_ES = 0x000,
        VMSA_CS = 0x010,
        VMSA_SS = 0x020,
        VMSA_DS = 0x030,
        VMSA_FS = 0x040,
        VMSA_GS = 0x050,
        VMSA_GDTR = 0x060,
        VMSA_LDTR = 0x070,
        VMSA_IDTR = 0x080,
        VMSA_TR = 0x090,
        VMSA_EFER = 0x0d0,
        VMSA_CR4 = 0x148,
        VMSA_CR0 = 0x158,
        VMSA_DR7 = 0x160,
        VMSA_DR6 = 0x168,
        VMSA_RFLAGS = 0x170,
        VMSA_RIP = 0x178,
        VMSA_G_PAT = 0x268,
        VMSA_RDX = 0x310,
        VMSA_SEV_FEATURES = 0x3b0,
        VMSA_XCR0 = 0x3e8,
        VMSA_MXCSR = 0x408,
        VMSA_X87_FCW = 0x410,
};

/* Reset values every VMM shares: KVM sets EFER.SVME and CR4.MCE; CR0.ET; DR6/DR7 and RFLAGS at
 * their architectural reset values; XCR0 x87 only. */
#define RESET_EFER UINT64_C(0x1000)
#define RESET_CR4 UINT64_C(0x40)
#define RESET_CR0 UINT64_C(0x10)
#define RESET_DR7 UINT64_C(0x400)
#define RESET_DR6 UINT64_C(0xffff0ff0)
#define RESET_RFLAGS UINT64_C(0x2)
#define RESET_XCR0 UINT64_C(0x1)
#define PAT_KVM UINT64_C(0x0007040600070406) /* APM vol. 2, A.3 */
#define PAT_GCE UINT64_C(0x00070106)
#define RDX_FIXED UINT64_C(0x600) /* EC2 and GCE: family 6 in RDX, whatever the host */
#define MXCSR_RESET UINT32_C(0x1f80)
#define FCW_RESET UINT16_C(0x37f)
#define SEV_FEATURE_SNP_ACTIVE UINT64_C(0x1)

static void put_le(uint8_t *p, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* A VMCB segment: selector u16, attributes u16, limit u32, base u64. */
static void put_seg(uint8_t *vmsa, size_t off, uint16_t selector, uint16_t attrib, uint32_t limit, uint64_t base) {
        put_le(vmsa + off, selector, 2);
        put_le(vmsa + off + 2, attrib, 2);
        put_le(vmsa + off + 4, limit, 4);
        put_le(vmsa + off + 8, base, 8);
}

/* Real mode at the reset vector: CS.base holds the upper bits of eip, RIP the low 16. */
static void build_reset(SnpVmm vmm, uint32_t eip, uint32_t vcpu_sig, uint8_t *v) {
        uint16_t cs = 0x9b, ss = 0x93, tr = 0x8b;
        uint64_t rdx = vcpu_sig, pat = PAT_KVM;
        bool fpu_reset = true;

        switch (vmm) {
        case SNP_VMM_EC2:
                /* EC2's BSP starts with a not-yet-accessed code segment */
                cs = eip == SNP_BSP_EIP ? 0x9a : 0x9b;
                ss = 0x92;
                tr = 0x83;
                rdx = RDX_FIXED;
                fpu_reset = false;
                break;
        case SNP_VMM_GCE:
                rdx = RDX_FIXED;
                pat = PAT_GCE;
                fpu_reset = false;
                break;
        default:
                break;
        }
        put_seg(v, VMSA_ES, 0, 0x93, 0xffff, 0);
        put_seg(v, VMSA_CS, 0xf000, cs, 0xffff, eip & 0xffff0000u);
        put_seg(v, VMSA_SS, 0, ss, 0xffff, 0);
        put_seg(v, VMSA_DS, 0, 0x93, 0xffff, 0);
        put_seg(v, VMSA_FS, 0, 0x93, 0xffff, 0);
        put_seg(v, VMSA_GS, 0, 0x93, 0xffff, 0);
        put_seg(v, VMSA_GDTR, 0, 0, 0xffff, 0);
        put_seg(v, VMSA_LDTR, 0, 0x82, 0xffff, 0);
        put_seg(v, VMSA_IDTR, 0, 0, 0xffff, 0);
        put_seg(v, VMSA_TR, 0, tr, 0xffff, 0);
        put_le(v + VMSA_CR0, RESET_CR0, 8);
        put_le(v + VMSA_RIP, eip & 0xffffu, 8);
        put_le(v + VMSA_G_PAT, pat, 8);
        put_le(v + VMSA_RDX, rdx, 8);
        if (fpu_reset) {
                put_le(v + VMSA_MXCSR, MXCSR_RESET, 4);
                put_le(v + VMSA_X87_FCW, FCW_RESET, 2);
        }
}

/* Coconut-SVSM is entered in 32-bit protected mode with flat 4 GiB segments. */
static void build_svsm(uint32_t eip, uint32_t vcpu_sig, uint8_t *v) {
        put_seg(v, VMSA_ES, 16, 0xc93, 0xffffffff, 0);
        put_seg(v, VMSA_CS, 8, 0xc9b, 0xffffffff, 0);
        put_seg(v, VMSA_SS, 16, 0xc93, 0xffffffff, 0);
        put_seg(v, VMSA_DS, 16, 0xc93, 0xffffffff, 0);
        put_seg(v, VMSA_FS, 16, 0xc93, 0xffffffff, 0);
        put_seg(v, VMSA_GS, 0, 0x93, 0xffff, 0);
        put_seg(v, VMSA_GDTR, 0, 0, 0xffff, 0);
        put_seg(v, VMSA_LDTR, 0, 0x82, 0xffff, 0);
        put_seg(v, VMSA_IDTR, 0, 0, 0xffff, 0);
        put_seg(v, VMSA_TR, 0, 0x8b, 0xffff, 0);
        put_le(v + VMSA_CR0, RESET_CR0 | 0x1, 8); /* PE */
        put_le(v + VMSA_RIP, eip, 8);
        put_le(v + VMSA_G_PAT, PAT_KVM, 8);
        put_le(v + VMSA_RDX, vcpu_sig, 8);
        /* QEMU's SVSM launch sets MXCSR but leaves the x87 control word zero */
        put_le(v + VMSA_MXCSR, MXCSR_RESET, 4);
}

void snp_vmsa_build(SnpVmm vmm, uint32_t eip, uint32_t vcpu_sig, uint64_t sev_features, bool svsm,
                    uint8_t ret[OVMF_PAGE_SIZE]) {
        memset(ret, 0, OVMF_PAGE_SIZE);
        if (svsm)
                build_svsm(eip, vcpu_sig, ret);
        else
                build_reset(vmm, eip, vcpu_sig, ret);
        put_le(ret + VMSA_EFER, RESET_EFER, 8);
        put_le(ret + VMSA_CR4, RESET_CR4, 8);
        put_le(ret + VMSA_DR7, RESET_DR7, 8);
        put_le(ret + VMSA_DR6, RESET_DR6, 8);
        put_le(ret + VMSA_RFLAGS, RESET_RFLAGS, 8);
        /* The SVSM runs with SNPActive alone; it sets the guest's own features when it builds
         * the guest's VMSAs, after launch. */
        put_le(ret + VMSA_SEV_FEATURES, svsm ? SEV_FEATURE_SNP_ACTIVE : sev_features, 8);
        put_le(ret + VMSA_XCR0, RESET_XCR0, 8);
}

static const char *const vmm_names[_SNP_VMM_MAX] = {
        [SNP_VMM_QEMU] = "qemu",
        [SNP_VMM_EC2] = "ec2",
        [SNP_VMM_GCE] = "gce",
};

const char *snp_vmm_to_string(SnpVmm v) {
        return v >= 0 && v < _SNP_VMM_MAX ? vmm_names[v] : NULL;
}

SnpVmm snp_vmm_from_string(const char *s) {
        for (SnpVmm v = 0; s && v < _SNP_VMM_MAX; v++)
                if (strcasecmp(s, vmm_names[v]) == 0)
                        return v;
        return _SNP_VMM_INVALID;
}

uint32_t snp_cpu_signature(unsigned family, unsigned model, unsigned stepping) {
        /* CPUID Fn0000_0001_EAX: families above 15 put the excess into the extended family */
        unsigned base_family = family > 0xf ? 0xf : family, ext_family = family > 0xf ? family - 0xf : 0;

        return (uint32_t) ((ext_family & 0xff) << 20 | ((model >> 4) & 0xf) << 16 | (base_family & 0xf) << 8 |
                           (model & 0xf) << 4 | (stepping & 0xf));
}

/* QEMU's AMD EPYC CPU models (target/i386/cpu.c: family, model, stepping). */
static const struct {
        const char *name;
        unsigned family, model, stepping;
} cpu_models[] = {
        { "EPYC", 23, 1, 2 },        { "EPYC-v1", 23, 1, 2 },       { "EPYC-v2", 23, 1, 2 },
        { "EPYC-v3", 23, 1, 2 },     { "EPYC-v4", 23, 1, 2 },       { "EPYC-IBPB", 23, 1, 2 },
        { "EPYC-Rome", 23, 49, 0 },  { "EPYC-Rome-v1", 23, 49, 0 }, { "EPYC-Rome-v2", 23, 49, 0 },
        { "EPYC-Rome-v3", 23, 49, 0 }, { "EPYC-Milan", 25, 1, 1 },  { "EPYC-Milan-v1", 25, 1, 1 },
        { "EPYC-Milan-v2", 25, 1, 1 }, { "EPYC-Genoa", 25, 17, 0 }, { "EPYC-Genoa-v1", 25, 17, 0 },
        { "EPYC-Turin", 26, 0, 0 },  { "EPYC-Turin-v1", 26, 0, 0 },
};

int snp_cpu_signature_of_model(const char *name, uint32_t *ret) {
        for (size_t i = 0; name && i < ELEMENTSOF(cpu_models); i++)
                if (strcasecmp(name, cpu_models[i].name) == 0) {
                        *ret = snp_cpu_signature(cpu_models[i].family, cpu_models[i].model, cpu_models[i].stepping);
                        return 0;
                }
        return -ENOENT;
}

const char *snp_cpu_model_name(size_t i) {
        return i < ELEMENTSOF(cpu_models) ? cpu_models[i].name : NULL;
}
