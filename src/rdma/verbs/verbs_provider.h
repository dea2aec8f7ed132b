// The rdma-core provider: a thin adapter over libibverbs and librdmacm (siw, rxe, real NICs).
// Owned by rdma/verbs; built only when pkg-config finds both libraries. Any thread (libibverbs
// objects are thread-safe; CM events are read from the rdma_event_channel fd).
#pragma once
#include "rdma/rdma.h"

namespace sd::rdma::verbs {

Provider* verbsProvider();

}  // namespace sd::rdma::verbs
