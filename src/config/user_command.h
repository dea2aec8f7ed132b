// `smbdirectd user add|update|delete|list`: manages the ksmbd-compatible user database.
#pragma once

namespace sd::config {

// argv[0] is "user". Returns the process exit code.
int userCommandMain(int argc, char** argv);

}  // namespace sd::config
