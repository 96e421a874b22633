/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper for tests/integration/test-cvmd-verify.sh: a VerifyEvidence request (include/
 * cvm/evidence-request.h) made by the real agent code from the simulators, as a guest would
 * answer a challenge: a fresh nonce, a spec digest and releaser key whose launch digest the
 * simulated hypervisor put in HOST_DATA / MRCONFIGID.
 *
 *   make-evidence snp|tdx SIM-DIR [GPU-SIM-DIR N-GPUS]
 *
 * Prints the request on stdout. Exit status: 0 done, 1 failed, 2 usage. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/agent/agent.h"
#include "cvm/cleanup.h"
#include "cvm/util.h"

int main(int argc, char *argv[]) {
        _cleanup_(json_object_putp) json_object *request = NULL, *evidence = NULL;
        _cleanup_(secret_freep) Secret *sk = NULL;
        _cleanup_free_ char *reason = NULL, *nonce_hex = NULL, *digest_hex = NULL;
        uint8_t digest[PROTO_LAUNCH_DIGEST_SIZE];
        ProtoMsg challenge = { .type = PROTO_CHALLENGE }, ev = {};
        AgentConfig c = { .timeout_usec = 10u * 1000000u };
        int r;

        if ((argc != 3 && argc != 5) || (strcmp(argv[1], "snp") != 0 && strcmp(argv[1], "tdx") != 0)) {
                fprintf(stderr, "usage: make-evidence snp|tdx SIM-DIR [GPU-SIM-DIR N-GPUS]\n");
                return 2;
        }
        (void) secret_init();
        challenge.tee = streq(argv[1], "snp") ? CVM_TEE_SEV_SNP : CVM_TEE_TDX;
        c.source = streq(argv[1], "snp") ? EVIDENCE_SIM_SNP : EVIDENCE_SIM_TDX;
        c.sim_dir = argv[2];
        if (argc == 5) {
                c.sim_gpu_dir = argv[3];
                challenge.gpus = (uint32_t) strtoul(argv[4], NULL, 10);
        }
        if (RAND_bytes(challenge.nonce, sizeof(challenge.nonce)) != 1 ||
            RAND_bytes(challenge.spec_digest, sizeof(challenge.spec_digest)) != 1 ||
            RAND_bytes(challenge.releaser_key, sizeof(challenge.releaser_key)) != 1)
                return 1;
        /* the simulated hypervisor set the launch digest the agent will find in its own report */
        proto_launch_digest(challenge.spec_digest, challenge.releaser_key, digest);
        memcpy(c.sim_host_data, digest, sizeof(c.sim_host_data));
        memcpy(c.sim_mrconfigid, digest, sizeof(c.sim_mrconfigid));
        r = agent_build_evidence(&c, &challenge, &sk, &ev, &reason);
        if (r < 0) {
                fprintf(stderr, "make-evidence: %s\n", reason ? reason : strerror(-r));
                return 1;
        }
        nonce_hex = hex_encode(challenge.nonce, sizeof(challenge.nonce));
        digest_hex = hex_encode(digest, sizeof(digest));
        request = json_object_new_object();
        if (!nonce_hex || !digest_hex || !request || proto_msg_to_json(&ev, &evidence) < 0)
                return 1;
        json_object_object_add(request, "evidence", json_object_get(evidence));
        json_object_object_add(request, "nonce", json_object_new_string(nonce_hex));
        json_object_object_add(request, "launch_digest", json_object_new_string(digest_hex));
        puts(json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN));
        proto_msg_done(&ev);
        return 0;
}
