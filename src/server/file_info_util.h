// Conversions between the backend's view of a file (vfs::FileStat) and the wire's
// (fscc::FileInfo), shared by CREATE, CLOSE, QUERY_INFO and QUERY_DIRECTORY.
#pragma once
#include <string>
#include <vector>

#include "fscc/file_info.h"
#include "vfs/share.h"

namespace sd::server {

fscc::FileInfo toFileInfo(const vfs::FileStat& st, std::string name);
// "a/b/c" -> "a\\b\\c"
std::string windowsPath(const std::string& share_relative);
std::vector<fscc::StreamInfo> toStreamList(const std::vector<vfs::StreamInfo>& v);

}  // namespace sd::server
