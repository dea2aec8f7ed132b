// SMB2/SMB3 protocol constants (MS-SMB2 2.2, MS-FSCC, MS-DTYP access masks). Pure data.
#pragma once
#include <array>
#include <cstdint>

namespace sd::smb2 {

constexpr uint16_t kDialect202 = 0x0202, kDialect210 = 0x0210, kDialect300 = 0x0300,
                   kDialect302 = 0x0302, kDialect311 = 0x0311, kDialectWildcard = 0x02FF;
// The SMB 3 dialects spoken here, most preferred (newest) first: the server's choice order and
// the client's default offer.
inline constexpr std::array<uint16_t, 3> kDialectsNewestFirst = {kDialect311, kDialect302, kDialect300};

// MS-SMB2 2.2.3 SecurityMode
constexpr uint16_t kNegotiateSigningEnabled = 0x0001, kNegotiateSigningRequired = 0x0002;
// MS-SMB2 2.2.3 Capabilities
constexpr uint32_t kCapDfs = 0x1, kCapLeasing = 0x2, kCapLargeMtu = 0x4, kCapMultiChannel = 0x8,
                   kCapPersistentHandles = 0x10, kCapDirectoryLeasing = 0x20,
                   kCapEncryption = 0x40, kCapNotifications = 0x80;
// MS-SMB2 2.2.3.1 negotiate context types
constexpr uint16_t kPreauthIntegrityCapabilities = 1, kEncryptionCapabilities = 2,
                   kCompressionCapabilities = 3, kNetnameNegotiateContextId = 5,
                   kTransportCapabilities = 6, kRdmaTransformCapabilities = 7,
                   kSigningCapabilities = 8;
constexpr uint16_t kHashSha512 = 1;
constexpr uint16_t kCipherAes128Ccm = 1, kCipherAes128Gcm = 2, kCipherAes256Ccm = 3,
                   kCipherAes256Gcm = 4;
constexpr uint16_t kSigningHmacSha256 = 0, kSigningAesCmac = 1, kSigningAesGmac = 2;

// MS-SMB2 2.2.5 / 2.2.6 session setup
constexpr uint8_t kSessionFlagBinding = 0x01;
constexpr uint16_t kSessionFlagIsGuest = 0x1, kSessionFlagIsNull = 0x2,
                   kSessionFlagEncryptData = 0x4;

// MS-SMB2 2.2.10 tree connect response
constexpr uint8_t kShareTypeDisk = 1, kShareTypePipe = 2, kShareTypePrint = 3;
constexpr uint32_t kShareFlagManualCaching = 0x0, kShareFlagAutoCaching = 0x10,
                   kShareFlagVdoCaching = 0x20, kShareFlagNoCaching = 0x30,
                   kShareFlagDfs = 0x1, kShareFlagAccessBasedDirectoryEnum = 0x800,
                   kShareFlagEncryptData = 0x8000;
constexpr uint32_t kShareCapDfs = 0x8, kShareCapContinuousAvailability = 0x10,
                   kShareCapScaleout = 0x20, kShareCapCluster = 0x40;

// MS-SMB2 2.2.13 CREATE
constexpr uint8_t kOplockLevelNone = 0, kOplockLevelII = 1, kOplockLevelExclusive = 8,
                  kOplockLevelBatch = 9, kOplockLevelLease = 0xFF;
constexpr uint32_t kImpersonationAnonymous = 0, kImpersonationIdentification = 1,
                   kImpersonationImpersonation = 2, kImpersonationDelegate = 3;
constexpr uint32_t kFileSupersede = 0, kFileOpen = 1, kFileCreate = 2, kFileOpenIf = 3,
                   kFileOverwrite = 4, kFileOverwriteIf = 5;
constexpr uint32_t kFileSuperseded = 0, kFileOpened = 1, kFileCreated = 2, kFileOverwritten = 3;
constexpr uint32_t kFileDirectoryFile = 0x1, kFileWriteThrough = 0x2, kFileSequentialOnly = 0x4,
                   kFileNoIntermediateBuffering = 0x8, kFileSynchronousIoAlert = 0x10,
                   kFileSynchronousIoNonalert = 0x20, kFileNonDirectoryFile = 0x40,
                   kFileCompleteIfOplocked = 0x100, kFileNoEaKnowledge = 0x200,
                   kFileRandomAccess = 0x800, kFileDeleteOnClose = 0x1000,
                   kFileOpenByFileId = 0x2000, kFileOpenForBackupIntent = 0x4000,
                   kFileNoCompression = 0x8000, kFileOpenRemoteInstance = 0x400,
                   kFileOpenRequiringOplock = 0x10000, kFileDisallowExclusive = 0x20000,
                   kFileReserveOpfilter = 0x100000, kFileOpenReparsePoint = 0x200000,
                   kFileOpenNoRecall = 0x400000, kFileOpenForFreeSpaceQuery = 0x800000;
constexpr uint32_t kFileShareRead = 1, kFileShareWrite = 2, kFileShareDelete = 4;
// MS-SMB2 2.2.13.1 access mask
constexpr uint32_t kFileReadData = 0x1, kFileListDirectory = 0x1, kFileWriteData = 0x2,
                   kFileAddFile = 0x2, kFileAppendData = 0x4, kFileAddSubdirectory = 0x4,
                   kFileReadEa = 0x8, kFileWriteEa = 0x10, kFileExecute = 0x20,
                   kFileTraverse = 0x20, kFileDeleteChild = 0x40, kFileReadAttributes = 0x80,
                   kFileWriteAttributes = 0x100, kDelete = 0x10000, kReadControl = 0x20000,
                   kWriteDac = 0x40000, kWriteOwner = 0x80000, kSynchronize = 0x100000,
                   kAccessSystemSecurity = 0x1000000, kMaximumAllowed = 0x2000000,
                   kGenericAll = 0x10000000, kGenericExecute = 0x20000000,
                   kGenericWrite = 0x40000000, kGenericRead = 0x80000000;
constexpr uint32_t kFileAllAccess = 0x001F01FF;
constexpr uint32_t kFileGenericRead = 0x00120089;
constexpr uint32_t kFileGenericWrite = 0x00120116;
constexpr uint32_t kFileGenericExecute = 0x001200A0;
// MS-FSCC 2.6 file attributes
constexpr uint32_t kFileAttributeReadonly = 0x1, kFileAttributeHidden = 0x2,
                   kFileAttributeSystem = 0x4, kFileAttributeDirectory = 0x10,
                   kFileAttributeArchive = 0x20, kFileAttributeNormal = 0x80,
                   kFileAttributeTemporary = 0x100, kFileAttributeSparseFile = 0x200,
                   kFileAttributeReparsePoint = 0x400, kFileAttributeCompressed = 0x800,
                   kFileAttributeOffline = 0x1000, kFileAttributeNotContentIndexed = 0x2000,
                   kFileAttributeEncrypted = 0x4000, kFileAttributeIntegrityStream = 0x8000;
// Create context names (MS-SMB2 2.2.13.2)
constexpr const char* kCreateEaBuffer = "ExtA";
constexpr const char* kCreateSdBuffer = "SecD";
constexpr const char* kCreateDurableHandleRequest = "DHnQ";
constexpr const char* kCreateDurableHandleReconnect = "DHnC";
constexpr const char* kCreateAllocationSize = "AlSi";
constexpr const char* kCreateQueryMaximalAccess = "MxAc";
constexpr const char* kCreateTimewarpToken = "TWrp";
constexpr const char* kCreateQueryOnDiskId = "QFid";
constexpr const char* kCreateRequestLease = "RqLs";
// The 16-byte GUID-named contexts are kept as raw names.

// MS-SMB2 2.2.15 CLOSE
constexpr uint16_t kClosePostqueryAttrib = 0x0001;
// MS-SMB2 2.2.19 / 2.2.21 channels and write flags
constexpr uint32_t kChannelNone = 0, kChannelRdmaV1 = 1, kChannelRdmaV1Invalidate = 2,
                   kChannelRdmaTransform = 3;
// A channel whose information (ReadChannelInfo/WriteChannelInfo) describes RDMA buffers.
constexpr bool isRdmaChannel(uint32_t c) {
  return c == kChannelRdmaV1 || c == kChannelRdmaV1Invalidate || c == kChannelRdmaTransform;
}
constexpr uint32_t kWriteFlagWriteThrough = 0x1, kWriteFlagWriteUnbuffered = 0x2;
constexpr uint8_t kReadFlagReadUnbuffered = 0x1, kReadFlagRequestCompressed = 0x2;
// MS-SMB2 2.2.26 LOCK
constexpr uint32_t kLockFlagShared = 0x1, kLockFlagExclusive = 0x2, kLockFlagUnlock = 0x4,
                   kLockFlagFailImmediately = 0x10;
// MS-SMB2 2.2.31 IOCTL
constexpr uint32_t kIoctlIsFsctl = 0x1;
constexpr uint32_t kFsctlDfsGetReferrals = 0x00060194, kFsctlDfsGetReferralsEx = 0x000601B0,
                   kFsctlPipePeek = 0x0011400C, kFsctlPipeWait = 0x00110018,
                   kFsctlPipeTransceive = 0x0011C017, kFsctlSrvCopychunk = 0x001440F2,
                   kFsctlSrvEnumerateSnapshots = 0x00144064,
                   kFsctlSrvRequestResumeKey = 0x00140078, kFsctlSrvReadHash = 0x001441BB,
                   kFsctlSrvCopychunkWrite = 0x001480F2, kFsctlLmrRequestResiliency = 0x001401D4,
                   kFsctlQueryNetworkInterfaceInfo = 0x001401FC,
                   kFsctlSetReparsePoint = 0x000900A4, kFsctlGetReparsePoint = 0x000900A8,
                   kFsctlFileLevelTrim = 0x00098208, kFsctlValidateNegotiateInfo = 0x00140204,
                   kFsctlSetSparse = 0x000900C4, kFsctlSetZeroData = 0x000980C8,
                   kFsctlQueryAllocatedRanges = 0x000940CF, kFsctlCreateOrGetObjectId = 0x000900C0,
                   kFsctlGetCompression = 0x0009003C, kFsctlSetCompression = 0x0009C040;
// MS-SMB2 2.2.33 QUERY_DIRECTORY flags
constexpr uint8_t kRestartScans = 0x01, kReturnSingleEntry = 0x02, kIndexSpecified = 0x04,
                  kReopen = 0x10;
// MS-SMB2 2.2.37 QUERY_INFO info types
constexpr uint8_t kInfoFile = 1, kInfoFilesystem = 2, kInfoSecurity = 3, kInfoQuota = 4;
// MS-SMB2 2.2.35 CHANGE_NOTIFY
constexpr uint16_t kWatchTree = 0x0001;

}  // namespace sd::smb2
