// `smbdirect mount SOURCE DIR [-o OPTIONS] [-f]` and mount(8)'s `mount.smbdirect SOURCE DIR
// [-o OPTIONS]`: mount.cifs option syntax (client/options.h).
#pragma once

namespace sd::fuse {

int mountMain(int argc, char** argv);

}  // namespace sd::fuse
