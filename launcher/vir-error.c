/* SPDX-License-Identifier: Apache-2.0 */
/* libvirt's last error as the negative errno the launcher's functions return, so that callers
 * can tell "no such domain" or "not supported" from a failure without parsing messages. */
#include <errno.h>
#include <libvirt/virterror.h>

#include "launcher-internal.h"

int vir_last_errno(void) {
        virErrorPtr e = virGetLastError();

        if (!e)
                return -EIO;
        switch (e->code) {
        case VIR_ERR_NO_MEMORY:
                return -ENOMEM;
        case VIR_ERR_NO_SUPPORT:
                return -EOPNOTSUPP;
        case VIR_ERR_NO_DOMAIN:
        case VIR_ERR_NO_DOMAIN_METADATA:
        case VIR_ERR_NO_NODE_DEVICE:
                return -ENOENT;
        case VIR_ERR_OPERATION_DENIED:
        case VIR_ERR_AUTH_FAILED:
                return -EPERM;
        case VIR_ERR_OPERATION_INVALID:
        case VIR_ERR_XML_ERROR:
        case VIR_ERR_CONFIG_UNSUPPORTED:
        case VIR_ERR_INVALID_ARG:
                return -EINVAL;
        case VIR_ERR_DOM_EXIST:
                return -EEXIST;
        default:
                return -EIO;
        }
}
