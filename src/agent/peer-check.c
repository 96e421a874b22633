/* SPDX-License-Identifier: Apache-2.0 */
/* Who may connect to the agent at all. On vsock only the host (CID 2): another guest, or a
 * process in this guest, has no business with the key release. On a unix socket (the simulator,
 * tests) only root and the uids the agent was told to trust. This is a first filter, not the
 * authentication: any host process can connect from CID 2, and what stops it from releasing
 * keys is the releaser check (agent_check_releaser(), HPKE auth mode). */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "agent.h"
#include "cvm/util.h"

static bool uid_trusted(const AgentPeerPolicy *p, uid_t uid) {
        if (uid == 0)
                return true;
        for (size_t i = 0; i < p->n_trust_uids; i++)
                if (p->trust_uids[i] == uid)
                        return true;
        return false;
}

int agent_peer_check(int fd, const AgentPeerPolicy *p, char **ret_reason) {
        struct sockaddr_storage ss = {};
        socklen_t len = sizeof(ss);

        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return set_reason(ret_reason, -EPERM, "cannot tell the socket's family: %s", strerror(errno));
        if (ss.ss_family == AF_VSOCK) {
                struct sockaddr_vm peer = {};
                len = sizeof(peer);
                if (getpeername(fd, (struct sockaddr *) &peer, &len) < 0)
                        return set_reason(ret_reason, -EPERM, "cannot tell the vsock peer: %s", strerror(errno));
                if (peer.svm_family != AF_VSOCK || peer.svm_cid != VMADDR_CID_HOST)
                        return set_reason(ret_reason, -EPERM, "refused vsock peer CID %u port %u: only the host (CID %u)",
                                          peer.svm_cid, peer.svm_port, VMADDR_CID_HOST);
                return 0;
        }
        if (ss.ss_family == AF_UNIX) {
                struct ucred cred = {};
                len = sizeof(cred);
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
                        return set_reason(ret_reason, -EPERM, "cannot read the unix peer's credentials: %s",
                                          strerror(errno));
                if (!uid_trusted(p, cred.uid))
                        return set_reason(ret_reason, -EPERM, "refused unix peer uid %u (pid %d): not root nor trusted",
                                          (unsigned) cred.uid, (int) cred.pid);
                return 0;
        }
        return set_reason(ret_reason, -EPERM, "refused peer on a socket of family %u", (unsigned) ss.ss_family);
}
