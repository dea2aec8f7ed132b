// `smbdirect rdma ...`: devices (like ibv_devices + rdma link), ping (rping's protocol and flags),
// bw and lat (bandwidth/latency of send, RDMA write and RDMA read). Owned by tools/rdma; runs on the
// calling thread. argv[0] is "rdma", argv[1] the subcommand.
#pragma once

namespace sd::rdma {

int rdmaToolMain(int argc, char** argv);

}  // namespace sd::rdma
