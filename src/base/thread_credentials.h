// Whether the calling thread has changed its own credentials (vfs::actAs: setfsuid, setfsgid,
// setgroups). The kernel then refuses that thread every RDMA command that goes through write()
// on /dev/infiniband (uverbs, rdma_cm: ib_safe_file_access() wants the credentials that opened
// the device, the same object, which a changed thread never has again): registering memory,
// posting work on soft-RoCE and soft-iWARP, destroying resources, disconnecting. The verbs
// provider runs those commands for such a thread on one of its own (rdma/verbs).
#pragma once

namespace sd {

inline thread_local bool t_thread_credentials_changed = false;
inline void noteThreadCredentialsChanged() { t_thread_credentials_changed = true; }
inline bool threadCredentialsChanged() { return t_thread_credentials_changed; }

}  // namespace sd
