// smbdirect-rdma: the RDMA tool (`smbdirect rdma ...`) as its own executable.
#include <string>
#include <vector>

#include "tools/rdma/rdma_tool.h"

int main(int argc, char** argv) {
  std::vector<char*> args;
  static char name[] = "rdma";
  args.push_back(name);
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  return sd::rdma::rdmaToolMain(int(args.size() - 1), args.data());
}
