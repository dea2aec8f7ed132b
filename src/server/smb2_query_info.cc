// QUERY_INFO (MS-SMB2 3.3.5.20): file, file-system and security information (stored NT
// descriptors, else synthesised from POSIX), with the
// output-length rules of 3.3.5.20.1 applied uniformly by fscc::fitOutput.
#include "fscc/file_info.h"
#include "fscc/fs_info.h"
#include "fscc/security_descriptor.h"
#include "server/access_check.h"
#include "server/connection.h"
#include "server/file_info_util.h"
#include "smb2/constants.h"
#include "smb2/error.h"
#include "smb2/query_info.h"

namespace sd::server {

namespace {

Result<Bytes> queryFile(Connection& c, Open& open, uint8_t cls) {
  auto st = SD_TRY(open.handle->stat());
  fscc::FileInfo fi = toFileInfo(st, "\\" + windowsPath(open.path()));
  if (cls == fscc::kFileFullEaInformation || cls == fscc::kFileEaInformation ||
      cls == fscc::kFileAllInformation) {
    auto eas = SD_TRY(open.tree->share->fs->listEas(*open.handle));
    std::vector<fscc::FullEaInformation> list;
    for (auto& e : eas) list.push_back({e.flags, e.name, e.value});
    // FileEaInformation.EaSize: the size of the FILE_FULL_EA_INFORMATION list (MS-FSCC 2.4.13).
    Bytes full = list.empty() ? Bytes() : fscc::encodeFileFullEaInformation(list);
    fi.ea_size = uint32_t(full.size());
    if (cls == fscc::kFileFullEaInformation) {
      if (!(open.granted_access & smb2::kFileReadEa)) return err(NtStatus::kAccessDenied, "no FILE_READ_EA");
      if (list.empty()) return err(NtStatus::kNoEasOnFile);
      return full;
    }
  }
  fi.delete_pending = c.state().isDeletePending(open.file_key);
  fscc::OpenInfo oi{open.granted_access, open.position, open.mode, 0};
  switch (cls) {
    case fscc::kFileStreamInformation: {
      auto streams = SD_TRY(open.tree->share->fs->listStreams(*open.handle));
      return fscc::encodeFileStreamInformation(toStreamList(streams));
    }
    default:
      return fscc::encodeFileInformation(cls, fi, oi);
  }
}

Result<Bytes> queryFs(Connection& c, Open& open, uint8_t cls) {
  auto& fs = *open.tree->share->fs;
  switch (cls) {
    case fscc::kFileFsVolumeInformation: {
      fscc::FsVolumeInfo v;
      v.volume_creation_time = c.state().startTime();
      v.volume_serial_number = fs.volumeSerial();
      v.volume_label = open.tree->share->cfg.name;
      return fscc::encodeFsVolumeInformation(v);
    }
    case fscc::kFileFsSizeInformation:
    case fscc::kFileFsFullSizeInformation: {
      auto s = SD_TRY(fs.statfs());
      fscc::FsSizeInfo z;
      z.total_allocation_units = s.total_blocks;
      z.caller_available_allocation_units = s.available_blocks;
      z.actual_available_allocation_units = s.free_blocks;
      z.sectors_per_allocation_unit = s.block_size / 512 ? s.block_size / 512 : 1;
      z.bytes_per_sector = 512;
      return cls == fscc::kFileFsSizeInformation ? fscc::encodeFsSizeInformation(z)
                                                 : fscc::encodeFsFullSizeInformation(z);
    }
    case fscc::kFileFsDeviceInformation:
      return fscc::encodeFsDeviceInformation(fscc::kFileDeviceDisk, fscc::kFileDeviceIsMounted);
    case fscc::kFileFsAttributeInformation: {
      fscc::FsAttributeInfo a;
      a.file_system_attributes = fscc::kFileCaseSensitiveSearch | fscc::kFileCasePreservedNames |
                                 fscc::kFileUnicodeOnDisk | fscc::kFilePersistentAcls |
                                 fscc::kFileSupportsSparseFiles | fscc::kFileNamedStreams;
      a.maximum_component_name_length = 255;
      a.file_system_name = "NTFS";
      return fscc::encodeFsAttributeInformation(a);
    }
    case fscc::kFileFsSectorSizeInformation:
      return fscc::encodeFsSectorSizeInformation(512);
    case fscc::kFileFsObjectIdInformation: {
      auto g = c.state().serverGuid();
      return fscc::encodeFsObjectIdInformation(ByteView(g.data(), g.size()));
    }
    default:
      return err(NtStatus::kInvalidInfoClass, "fs info class");
  }
}

}  // namespace

Status handleQueryInfo(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeQueryInfoRequest(r.msg));
  auto open = SD_TRY(c.openOf(r, req.file_id));
  if (req.output_buffer_length > c.negotiated().max_transact)
    return err(NtStatus::kInvalidParameter, "output buffer too large");
  if (open->pipe) {
    // Clients ask pipes for FileStandardInformation; answer as Windows does for a pipe.
    if (req.info_type == smb2::kInfoFile && req.file_info_class == fscc::kFileStandardInformation) {
      fscc::FileInfo fi;
      fi.allocation_size = 4096;
      fi.number_of_links = 1;
      fi.delete_pending = true;
      auto full = fscc::encodeFileInformation(fscc::kFileStandardInformation, fi);
      if (!full) return full.error();
      auto fit = SD_TRY(fscc::fitOutput(smb2::kInfoFile, fscc::kFileStandardInformation,
                                        std::move(*full), req.output_buffer_length));
      smb2::QueryInfoResponse resp;
      resp.buffer = fit.first;
      smb2::encodeQueryInfoResponse(resp, r.out);
      return ok();
    }
    return err(NtStatus::kNotSupported, "pipe info");
  }
  std::lock_guard<std::mutex> lk(open->mu);
  Bytes full;
  uint8_t cls = req.file_info_class;
  switch (req.info_type) {
    case smb2::kInfoFile:
      // MS-FSA 2.1.5.12: only these classes require FILE_READ_ATTRIBUTES.
      if ((cls == fscc::kFileBasicInformation || cls == fscc::kFileAllInformation ||
           cls == fscc::kFileNetworkOpenInformation || cls == fscc::kFileAttributeTagInformation) &&
          !(open->granted_access & smb2::kFileReadAttributes))
        return err(NtStatus::kAccessDenied, "no FILE_READ_ATTRIBUTES");
      full = SD_TRY(queryFile(c, *open, cls));
      break;
    case smb2::kInfoFilesystem:
      full = SD_TRY(queryFs(c, *open, cls));
      break;
    case smb2::kInfoSecurity: {
      if (!(open->granted_access & smb2::kReadControl))
        return err(NtStatus::kAccessDenied, "no READ_CONTROL");
      // MS-SMB2 3.3.5.20.3: the stored descriptor (server/access_check.h) or one synthesised
      // from POSIX, reduced to the parts AdditionalInformation asks for.
      auto st = SD_TRY(open->handle->stat());
      auto stored = SD_TRY(open->tree->share->fs->readSecurity(*open->handle));
      auto sd = SD_TRY(effectiveDescriptor(stored, st));
      full = fscc::encodeSecurityDescriptor(
          fscc::selectSecurityInformation(sd, req.additional_information));
      if (full.size() > req.output_buffer_length) {
        // MS-SMB2 3.3.5.20.3: tell the client the size it needs.
        smb2::encodeErrorResponse(smb2::ErrorResponse::bufferTooSmall(uint32_t(full.size())), r.out);
        return err(NtStatus::kBufferTooSmall);
      }
      smb2::QueryInfoResponse resp;
      resp.buffer = full;
      smb2::encodeQueryInfoResponse(resp, r.out);
      return ok();
    }
    case smb2::kInfoQuota:
      return err(NtStatus::kNotSupported, "quota");
    default:
      return err(NtStatus::kInvalidParameter, "info type");
  }
  auto fit = SD_TRY(fscc::fitOutput(req.info_type, cls, std::move(full), req.output_buffer_length));
  smb2::QueryInfoResponse resp;
  resp.buffer = fit.first;
  smb2::encodeQueryInfoResponse(resp, r.out);
  r.status = fit.second;
  return ok();
}

}  // namespace sd::server
