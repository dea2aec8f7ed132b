#include "server/file_info_util.h"

namespace sd::server {

fscc::FileInfo toFileInfo(const vfs::FileStat& st, std::string name) {
  fscc::FileInfo fi;
  fi.name = std::move(name);
  fi.creation_time = st.creation_time;
  fi.last_access_time = st.last_access_time;
  fi.last_write_time = st.last_write_time;
  fi.change_time = st.change_time;
  fi.end_of_file = st.end_of_file;
  fi.allocation_size = st.allocation_size;
  fi.file_attributes = st.file_attributes;
  fi.file_id = st.file_id;
  fi.number_of_links = st.number_of_links;
  fi.directory = st.directory;
  return fi;
}

std::string windowsPath(const std::string& p) {
  std::string r = p;
  for (auto& c : r)
    if (c == '/') c = '\\';
  return r;
}

std::vector<fscc::StreamInfo> toStreamList(const std::vector<vfs::StreamInfo>& v) {
  std::vector<fscc::StreamInfo> out;
  for (const auto& s : v) out.push_back({s.name, s.size, s.allocation_size});
  return out;
}

}  // namespace sd::server
