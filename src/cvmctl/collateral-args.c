/* SPDX-License-Identifier: Apache-2.0 */
/* The host collateral options (collateral-args.h). */
#include <string.h>

#include "cli.h"
#include "collateral-args.h"

void collateral_args_init(CollateralConfig *config) {
        *config = (CollateralConfig) { .progress = cli_progress };
}

static bool is_http_url(const char *s) {
        return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

int collateral_args_option(CollateralConfig *config, int64_t *at, int c, const char *arg) {
        switch (c) {
        case COLLATERAL_ARG_OFFLINE:
                config->offline = true;
                return 1;
        case COLLATERAL_ARG_CACHE:
                if (!*arg)
                        return cli_usage_error("--cache: empty directory name");
                config->cache_dir = arg;
                return 1;
        case COLLATERAL_ARG_KDS_URL:
                if (!is_http_url(arg))
                        return cli_usage_error("--kds-url: '%s' is not an http:// or https:// URL", arg);
                config->kds_url = arg;
                return 1;
        case COLLATERAL_ARG_PCCS_URL:
                if (!is_http_url(arg))
                        return cli_usage_error("--pccs-url: '%s' is not an http:// or https:// URL", arg);
                config->pcs_url = arg;
                config->pccs = true;
                return 1;
        case COLLATERAL_ARG_NVIDIA_RIM_URL:
        case COLLATERAL_ARG_NVIDIA_OCSP_URL:
                if (!is_http_url(arg))
                        return cli_usage_error("--nvidia-%s-url: '%s' is not an http:// or https:// URL",
                                               c == COLLATERAL_ARG_NVIDIA_RIM_URL ? "rim" : "ocsp", arg);
                if (c == COLLATERAL_ARG_NVIDIA_RIM_URL)
                        config->nvidia_rim_url = arg;
                else
                        config->nvidia_ocsp_url = arg;
                return 1;
        case COLLATERAL_ARG_AT:
                return cli_parse_at(arg, at) == 0 ? 1 : EXIT_USAGE;
        default:
                return 0;
        }
}
