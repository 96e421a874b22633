/* SPDX-License-Identifier: Apache-2.0 */
/* cvmctl render: the libvirt domain XML cvmd would start for a launch spec, offline from
 * capability files or against a live libvirt connection: the launch plan, printed. */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "cvm/launch-plan.h"
#include "cvm/releaser.h"
#include "cvm/util.h"
#include "cvm/verdict.h" /* json_object_putp */
#include "plan-args.h"

static void help(void) {
        printf("Usage: cvmctl render SPEC --host-caps CAPS.xml --domcaps DOMCAPS.xml [--gpu BDF@CELL]... [OPTIONS]\n"
               "       cvmctl render SPEC --connect URI [OPTIONS]\n"
               "\n"
               "Validates a launch spec, places it on the host's NUMA cells and prints the libvirt\n"
               "domain XML cvmd would start.\n"
               "\n"
               "  --connect URI           probe a live libvirt instead (e.g. qemu:///system)\n" PLAN_ARGS_HELP
               "  --releaser-key FILE     bind this releaser key (as cvmctl launch --releaser-key)\n"
               "                          into the launch digest the XML carries; without it the\n"
               "                          launch digest is the spec digest, which no agent accepts\n"
               "  --json                  print a JSON object with the XML, the spec digest, the\n"
               "                          releaser's public key, the launch digest and the placement\n"
               "  -h --help               this help\n"
               "\n"
               "Exit status: 0 rendered, 1 refused (invalid spec, TEE unsupported, not enough\n"
               "resources, libvirt failure), 2 usage error or unreadable file.\n");
}

/* A refusal: under --json the verb's own shape, {"rendered": false, "reason"}. */
static int refuse(bool json, int exit_code, const char *reason) {
        if (json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (o) {
                        json_object_object_add(o, "rendered", json_object_new_boolean(false));
                        json_object_object_add(o, "reason", json_object_new_string(reason));
                        (void) cli_print_json(o, true);
                }
        }
        return cli_error(exit_code, "%s", reason);
}

typedef struct RenderArgs {
        const char *connect_uri;
        const char *releaser_key;
        bool json;
} RenderArgs;

enum { ARG_CONNECT = 0x100, ARG_JSON, ARG_RELEASER_KEY };

static int render_option(void *args, int c, const char *arg) {
        RenderArgs *a = args;

        if (c == ARG_CONNECT)
                a->connect_uri = arg;
        else if (c == ARG_JSON)
                a->json = true;
        else if (c == ARG_RELEASER_KEY)
                a->releaser_key = arg;
        return 0;
}

int verb_render(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "connect", required_argument, NULL, ARG_CONNECT },
                { "json", no_argument, NULL, ARG_JSON },
                { "releaser-key", required_argument, NULL, ARG_RELEASER_KEY },
                PLAN_ARGS_OPTIONS,
                {},
        };
        _cleanup_(plan_args_done) PlanArgs pa;
        _cleanup_(launch_spec_freep) LaunchSpec *spec = NULL;
        _cleanup_(lifecycle_freep) Lifecycle *l = NULL;
        _cleanup_(launch_plan_freep) LaunchPlan *plan = NULL;
        _cleanup_(releaser_key_done) ReleaserKey releaser = {};
        _cleanup_free_ char *reason = NULL;
        _cleanup_free_ uint8_t *spec_data = NULL;
        size_t spec_size;
        RenderArgs a = {};
        const CliParser p = { .options = options, .help = help, .shared = plan_args_option, .shared_args = &pa,
                              .own = render_option, .args = &a };
        const char *connect_uri;
        bool json;
        int r;

        plan_args_init(&pa);
        r = cli_parse_options(&p, argc, argv);
        if (r != CLI_GO_ON)
                return r;
        connect_uri = a.connect_uri;
        json = a.json;
        if (optind + 1 != argc)
                return cli_usage_error(optind >= argc ? "render: missing SPEC" : "render: one SPEC only");
        if (connect_uri && (pa.host_caps || pa.domcaps || pa.o.n_gpus))
                return cli_usage_error("render: --connect cannot be combined with --host-caps, --domcaps or --gpu");
        if (!connect_uri && (!pa.host_caps || !pa.domcaps))
                return cli_usage_error("render: give --host-caps and --domcaps, or --connect URI");
        if ((r = plan_args_finish(&pa)) != 0)
                return r;
        if (a.releaser_key) {
                /* only its public half is used; the private key is wiped with `releaser` */
                r = releaser_key_load(a.releaser_key, &releaser, &reason);
                if (r == -ENOMEM)
                        return cli_error(EXIT_REJECTED, "out of memory");
                if (r < 0)
                        return refuse(json, EXIT_USAGE, reason ? reason : "cannot read the releaser key");
                pa.o.releaser_key = releaser.pk;
        }

        if (cli_read_file(argv[optind], &spec_data, &spec_size) < 0)
                return EXIT_USAGE;
        r = launch_spec_parse((const char *) spec_data, spec_size, &spec, &reason);
        if (r == -ENOMEM)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (r < 0)
                return refuse(json, EXIT_REJECTED, reason ? reason : "invalid launch spec");
        if (connect_uri && lifecycle_open(connect_uri, NULL, NULL, &l, &reason) < 0)
                return refuse(json, EXIT_REJECTED, reason ? reason : "libvirt failed");

        r = launch_plan_build(spec, l, &pa.o, &plan, &reason);
        if (l) /* render creates nothing: the host ledger's lock goes at once */
                lifecycle_ledger_unlock(l);
        if (r == -ENOMEM)
                return cli_error(EXIT_REJECTED, "out of memory");
        if (r < 0)
                return refuse(json, EXIT_REJECTED, reason);

        if (json) {
                _cleanup_(json_object_putp) json_object *o = launch_plan_to_json(plan);
                if (!o || cli_print_json(o, true) < 0)
                        return cli_error(EXIT_REJECTED, "cannot write the output");
        } else if (fputs(plan->xml, stdout) < 0)
                return cli_error(EXIT_REJECTED, "cannot write the output");
        return EXIT_ACCEPTED;
}
