// The QUERY_INFO output-length rules (MS-SMB2 3.3.5.20.1 with the per-class pseudocode of MS-FSA
// 2.1.5.12 / 2.1.5.13), applied uniformly by the server to a fully encoded info buffer. Owned by
// fscc/; pure, any thread.
#pragma once
#include <cstdint>
#include <utility>

#include "base/bytes.h"
#include "base/result.h"

namespace sd::fscc {

// Minimum OutputBufferLength the class accepts (below it: STATUS_INFO_LENGTH_MISMATCH), and
// whether the class has a variable part that may be truncated with STATUS_BUFFER_OVERFLOW.
// `info_type` is the SMB2 InfoType (kInfoFile or kInfoFilesystem). Unknown classes: {0, false}.
struct OutputRule {
  uint32_t minimum = 0;
  bool variable = false;
};
OutputRule outputRule(uint8_t info_type, uint8_t info_class);

// Fits `full` (the complete encoded class) into `max_output` bytes:
//  - max_output below the class minimum (or below the whole buffer of a fixed-size class):
//    error STATUS_INFO_LENGTH_MISMATCH;
//  - a variable class that does not fit: truncated to what fits (names to whole UTF-16 units,
//    FileStreamInformation to whole entries with the last NextEntryOffset zeroed) with
//    STATUS_BUFFER_OVERFLOW (a warning: the response still carries the data);
//  - otherwise the buffer unchanged with STATUS_SUCCESS.
Result<std::pair<Bytes, NtStatus>> fitOutput(uint8_t info_type, uint8_t info_class, Bytes full,
                                             uint32_t max_output);

}  // namespace sd::fscc
