// The fixed 4-byte bodies (StructureSize 4, Reserved) shared by LOGOFF, TREE_DISCONNECT, ECHO,
// CANCEL and their responses (MS-SMB2 2.2.7-2.2.8, 2.2.11-2.2.12, 2.2.28-2.2.30). Sans-I/O.
#pragma once
#include "base/bytes.h"

namespace sd::smb2 {

Status decodeEmptyBody(ByteView msg);  // StructureSize 4
void encodeEmptyBody(ByteWriter& w);

}  // namespace sd::smb2
