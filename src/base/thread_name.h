// Names the calling thread (at most 15 characters, as the kernel keeps them) so that `top -H`,
// `ps -L`, perf and gdb tell the daemon's and the client's threads apart. Any thread.
#pragma once

namespace sd {
void setThreadName(const char* name);
}
