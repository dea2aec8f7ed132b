#include "rdma/tool/rdma_tool.h"

#include <cstdio>
#include <cstring>

namespace sd::rdma {
int rdmaToolMain(int argc, char** argv) {
  std::fprintf(stderr, "usage: rdma devices|ping|bw|lat\n");
  return 2;
}
}  // namespace sd::rdma
