// Prints fscc encodings as "name hex" lines for tests/fscc/impacket_crosscheck.py, which parses
// them with impacket (an independent implementation). With "decode-sd HEX" it decodes a
// descriptor built by impacket and prints what it found.
#include <cstdio>
#include <cstring>
#include <string>

#include "fscc/directory_info.h"
#include "fscc/file_info.h"
#include "fscc/fs_info.h"
#include "fscc/security_descriptor.h"

using namespace sd;
using namespace sd::fscc;

namespace {

void out(const char* name, const Bytes& b) { std::printf("%s %s\n", name, toHex(b).c_str()); }

FileInfo sample(const char* name, uint64_t seed) {
  FileInfo fi;
  fi.name = name;
  fi.short_name = "SHORT~1.TXT";
  fi.creation_time = 132000000000000000ull + seed;
  fi.last_access_time = 132000000000000100ull + seed;
  fi.last_write_time = 132000000000000200ull + seed;
  fi.change_time = 132000000000000300ull + seed;
  fi.end_of_file = 1000 + seed;
  fi.allocation_size = 4096;
  fi.file_attributes = kFileAttributeArchive;
  fi.ea_size = 0;
  fi.file_id = 0x1122334455667700ull + seed;
  fi.number_of_links = 1;
  return fi;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "decode-sd") == 0) {
    auto d = decodeSecurityDescriptor(fromHex(argv[2]));
    if (!d) {
      std::printf("error\n");
      return 1;
    }
    std::printf("owner %s\n", d->owner ? sidToString(*d->owner).c_str() : "-");
    std::printf("group %s\n", d->group ? sidToString(*d->group).c_str() : "-");
    if (d->dacl)
      for (const auto& a : d->dacl->aces)
        std::printf("ace %u %u %u %s\n", a.type, a.flags, a.mask, sidToString(a.sid).c_str());
    return 0;
  }
  for (uint8_t cls : {kFileDirectoryInformation, kFileFullDirectoryInformation,
                      kFileBothDirectoryInformation, kFileNamesInformation,
                      kFileIdBothDirectoryInformation, kFileIdFullDirectoryInformation}) {
    Bytes b;
    DirectoryEntryWriter w(b, cls, 65536);
    w.add(sample("first.txt", 1));
    w.add(sample("second file name", 2));
    w.add(sample("x", 3));
    std::string n = "dir" + std::to_string(cls);
    out(n.c_str(), b);
  }
  FileInfo fi = sample("\\dir\\file.txt", 9);
  fi.delete_pending = true;
  fi.number_of_links = 3;
  out("basic", *encodeFileInformation(kFileBasicInformation, fi));
  out("standard", *encodeFileInformation(kFileStandardInformation, fi));
  out("all", encodeFileAllInformation(fi, 0x001F01FF, 77, kFileSynchronousIoNonalert, fi.name));
  out("name", encodeFileNameInformation(fi.name));
  out("rename", encodeFileRenameInformation({1, 0, "new\\name.txt"}));
  out("ea", encodeFileFullEaInformation({{0, "user.a", {1, 2, 3}}}));
  out("fssize", encodeFsSizeInformation({1000, 400, 400, 8, 512}));
  out("fsfullsize", encodeFsFullSizeInformation({1000, 400, 300, 8, 512}));
  out("sd", securityDescriptorFromPosix(1000, 100, 0754, false, 0xF));
  return 0;
}
