/* SPDX-License-Identifier: Apache-2.0 */
/* The SEV-SNP launch digest of a whole guest, in the order QEMU launches it: the firmware
 * pages, each SEV metadata section of the firmware in its own order (the kernel hashes page
 * among them), then one VMSA per vCPU at the fixed VMSA GPA. A Coconut-SVSM launch adds the
 * SVSM image below OVMF's variable store and takes the metadata sections from the SVSM. */
#include <errno.h>
#include <string.h>

#include "cvm/snp-measure.h"
#include "cvm/util.h"

int snp_ovmf_hash(const uint8_t *firmware, size_t size, uint8_t ret[SNP_LD_SIZE], char **ret_reason) {
        SnpGctx g;

        if (size == 0 || size % OVMF_PAGE_SIZE != 0 || size > OVMF_IMAGE_MAX)
                return set_reason(ret_reason, -EBADMSG, "firmware: %zu bytes is not a whole number of 4 KiB pages",
                                  size);
        snp_gctx_init(&g, NULL);
        if (snp_gctx_update_normal(&g, OVMF_FOUR_GIB - size, firmware, size) < 0)
                return set_reason(ret_reason, -EIO, "SHA-384 failed");
        memcpy(ret, g.ld, SNP_LD_SIZE);
        return 0;
}

/* One SEV metadata section. CPUID pages are left to the caller on EC2, which measures them
 * after every other section. */
static int update_section(SnpGctx *g, const OvmfImage *img, const OvmfSevSection *s, SnpVmm vmm,
                          const SnpKernelHashes *kh, char **ret_reason) {
        uint8_t page[OVMF_PAGE_SIZE];

        switch (s->type) {
        case OVMF_SECTION_SNP_SEC_MEM:
                /* GCE leaves the pre-validated memory unmeasured instead of measuring zeros */
                return snp_gctx_update_empty(g, vmm == SNP_VMM_GCE ? SNP_PAGE_UNMEASURED : SNP_PAGE_ZERO, s->gpa,
                                             s->size);
        case OVMF_SECTION_SNP_SECRETS:
                return snp_gctx_update_empty(g, SNP_PAGE_SECRETS, s->gpa, s->size);
        case OVMF_SECTION_CPUID:
                return vmm == SNP_VMM_EC2 ? 0 : snp_gctx_update_empty(g, SNP_PAGE_CPUID, s->gpa, s->size);
        case OVMF_SECTION_SVSM_CAA:
                return snp_gctx_update_empty(g, SNP_PAGE_ZERO, s->gpa, s->size);
        case OVMF_SECTION_SNP_KERNEL_HASHES:
                if (!kh)
                        return snp_gctx_update_empty(g, SNP_PAGE_ZERO, s->gpa, s->size);
                if (s->size != OVMF_PAGE_SIZE)
                        return set_reason(ret_reason, -EBADMSG,
                                          "firmware: the SNP_KERNEL_HASHES section is 0x%x bytes, not one page", s->size);
                /* QEMU writes the table at its GPA's offset within the section's page */
                if (!img->have_hashes_table)
                        return set_reason(ret_reason, -EBADMSG, "firmware: no SEV hash table entry in its footer table");
                if (snp_kernel_hashes_page(kh, img->hashes_table_gpa % OVMF_PAGE_SIZE, page) < 0)
                        return set_reason(ret_reason, -EBADMSG,
                                          "firmware: the SEV hash table at GPA 0x%x does not fit its page",
                                          img->hashes_table_gpa);
                return snp_gctx_update_normal(g, s->gpa, page, sizeof(page));
        default:
                return set_reason(ret_reason, -EBADMSG, "firmware: SEV metadata section type %u is unknown", s->type);
        }
}

int snp_measure_metadata(SnpGctx *g, const OvmfImage *img, SnpVmm vmm, const SnpKernelHashes *kh,
                         char **ret_reason) {
        int r;

        for (size_t i = 0; i < img->n_sev_sections; i++) {
                r = update_section(g, img, &img->sev_sections[i], vmm, kh, ret_reason);
                if (r < 0)
                        return ret_reason && *ret_reason ? r : set_reason(ret_reason, r, "SHA-384 failed");
        }
        if (vmm == SNP_VMM_EC2)
                for (size_t i = 0; i < img->n_sev_sections; i++)
                        if (img->sev_sections[i].type == OVMF_SECTION_CPUID) {
                                r = snp_gctx_update_empty(g, SNP_PAGE_CPUID, img->sev_sections[i].gpa,
                                                          img->sev_sections[i].size);
                                if (r < 0)
                                        return set_reason(ret_reason, r, "SHA-384 failed");
                        }
        return 0;
}

static int update_vmsas(SnpGctx *g, const SnpMeasureParams *p, uint32_t bsp_eip, uint32_t ap_eip, bool svsm) {
        uint8_t bsp[OVMF_PAGE_SIZE], ap[OVMF_PAGE_SIZE];

        snp_vmsa_build(p->vmm, bsp_eip, p->vcpu_sig, p->guest_features, svsm, bsp);
        snp_vmsa_build(p->vmm, ap_eip, p->vcpu_sig, p->guest_features, svsm, ap);
        for (unsigned i = 0; i < p->vcpus; i++) {
                int r = snp_gctx_update_vmsa(g, i == 0 ? bsp : ap);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The firmware pages, or the seed that stands for them. */
static int start_digest(SnpGctx *g, const SnpMeasureParams *p, const OvmfImage *ovmf, SnpMeasurement *m) {
        int r;

        snp_gctx_init(g, p->ovmf_hash);
        if (!p->ovmf_hash) {
                r = snp_gctx_update_normal(g, ovmf->gpa, ovmf->data, ovmf->size);
                if (r < 0)
                        return r;
        }
        memcpy(m->ovmf_hash, g->ld, SNP_LD_SIZE);
        return 0;
}

static int measure_svsm(const SnpMeasureParams *p, const OvmfImage *ovmf, SnpMeasurement *m, char **ret_reason) {
        OvmfImage svsm;
        SnpGctx g;
        int r;

        if (p->kernel_hashes)
                return set_reason(ret_reason, -EINVAL, "an SVSM launch does not measure a kernel: drop --kernel");
        if (p->vmm != SNP_VMM_QEMU)
                return set_reason(ret_reason, -EINVAL, "an SVSM launch is measured for QEMU only, not %s",
                                  snp_vmm_to_string(p->vmm));
        if (p->vars_size % OVMF_PAGE_SIZE != 0 || p->vars_size >= ovmf->gpa)
                return set_reason(ret_reason, -EINVAL, "the OVMF variable store size %llu is not whole pages below OVMF",
                                  (unsigned long long) p->vars_size);
        r = ovmf_parse(p->svsm, p->svsm_size, ovmf->gpa - p->vars_size, OVMF_WANT_SEV, &svsm, ret_reason);
        if (r < 0)
                return set_reason(ret_reason, r, "SVSM image: %s", *ret_reason);
        if (!svsm.have_svsm_info)
                return set_reason(ret_reason, -EBADMSG, "SVSM image: no SVSM info entry in its footer table");
        if (!svsm.have_sev_metadata)
                return set_reason(ret_reason, -EBADMSG, "SVSM image: no SEV metadata");
        if (svsm.svsm_entry_offset >= svsm.size)
                return set_reason(ret_reason, -EBADMSG, "SVSM image: its entry point lies outside the image");

        r = start_digest(&g, p, ovmf, m);
        if (r >= 0)
                r = snp_gctx_update_normal(&g, svsm.gpa, svsm.data, svsm.size);
        if (r < 0)
                return set_reason(ret_reason, r, "SHA-384 failed");
        r = snp_measure_metadata(&g, &svsm, SNP_VMM_QEMU, NULL, ret_reason);
        if (r < 0)
                return r;
        /* every vCPU enters the SVSM; the SVSM starts OVMF itself */
        r = update_vmsas(&g, p, (uint32_t) (svsm.gpa + svsm.svsm_entry_offset),
                         (uint32_t) (svsm.gpa + svsm.svsm_entry_offset), true);
        if (r < 0)
                return set_reason(ret_reason, r, "SHA-384 failed");
        memcpy(m->measurement, g.ld, SNP_LD_SIZE);
        return 0;
}

int snp_measure(const SnpMeasureParams *p, SnpMeasurement *ret, char **ret_reason) {
        SnpMeasurement m = {};
        OvmfImage ovmf;
        SnpGctx g;
        int r;

        if (!snp_vmm_to_string(p->vmm))
                return set_reason(ret_reason, -EINVAL, "unknown VMM type");
        if (p->vcpus == 0 || p->vcpus > SNP_VCPUS_MAX)
                return set_reason(ret_reason, -EINVAL, "%u vCPUs: 1 to %u are possible", p->vcpus, SNP_VCPUS_MAX);
        if (!p->firmware)
                return set_reason(ret_reason, -EINVAL, "no firmware given");
        r = ovmf_parse(p->firmware, p->firmware_size, OVMF_FOUR_GIB, OVMF_WANT_SEV, &ovmf, ret_reason);
        if (r < 0)
                return r;
        if (p->svsm) {
                r = measure_svsm(p, &ovmf, &m, ret_reason);
                if (r < 0)
                        return r;
                *ret = m;
                return 0;
        }
        if (!ovmf.have_sev_metadata)
                return set_reason(ret_reason, -EBADMSG,
                                  "firmware: no SEV metadata in its footer table: not an SEV-SNP capable OVMF");
        if (!ovmf.have_reset_eip)
                return set_reason(ret_reason, -EBADMSG,
                                  "firmware: no SEV-ES reset block: the APs' start address is unknown");
        if (p->kernel_hashes && !ovmf_has_sev_section(&ovmf, OVMF_SECTION_SNP_KERNEL_HASHES))
                return set_reason(ret_reason, -EINVAL,
                                  "a kernel was given but the firmware's SEV metadata has no SNP_KERNEL_HASHES "
                                  "section: it cannot measure a kernel, initrd or command line");

        r = start_digest(&g, p, &ovmf, &m);
        if (r < 0)
                return set_reason(ret_reason, r, "SHA-384 failed");
        r = snp_measure_metadata(&g, &ovmf, p->vmm, p->kernel_hashes, ret_reason);
        if (r < 0)
                return r;
        r = update_vmsas(&g, p, SNP_BSP_EIP, ovmf.reset_eip, false);
        if (r < 0)
                return set_reason(ret_reason, r, "SHA-384 failed");
        memcpy(m.measurement, g.ld, SNP_LD_SIZE);
        *ret = m;
        return 0;
}
