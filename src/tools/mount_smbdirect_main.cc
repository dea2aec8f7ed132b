// mount.smbdirect: the helper mount(8) runs for `mount -t smbdirect //server/share DIR -o ...`.
#include "fuse/mount_main.h"

int main(int argc, char** argv) { return sd::fuse::mountMain(argc, argv); }
