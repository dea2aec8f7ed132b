// MS-FSCC numbers shared by the fscc codecs: FileInformationClass (MS-FSCC 2.4),
// FsInformationClass (MS-FSCC 2.5), file attributes (2.6), file-system attribute flags (2.5.1),
// device types (2.5.10), mode flags (2.4.31) and SMB2 InfoType (MS-SMB2 2.2.37). Owned by fscc/;
// pure data, any thread.
#pragma once
#include <cstdint>

namespace sd::fscc {

// MS-SMB2 2.2.37 InfoType (the same numbers as smb2::kInfo*; fscc does not depend on smb2).
inline constexpr uint8_t kInfoFile = 0x01;
inline constexpr uint8_t kInfoFilesystem = 0x02;
inline constexpr uint8_t kInfoSecurity = 0x03;
inline constexpr uint8_t kInfoQuota = 0x04;

// MS-FSCC 2.4 FileInformationClass.
inline constexpr uint8_t kFileDirectoryInformation = 1;
inline constexpr uint8_t kFileFullDirectoryInformation = 2;
inline constexpr uint8_t kFileBothDirectoryInformation = 3;
inline constexpr uint8_t kFileBasicInformation = 4;
inline constexpr uint8_t kFileStandardInformation = 5;
inline constexpr uint8_t kFileInternalInformation = 6;
inline constexpr uint8_t kFileEaInformation = 7;
inline constexpr uint8_t kFileAccessInformation = 8;
inline constexpr uint8_t kFileNameInformation = 9;
inline constexpr uint8_t kFileRenameInformation = 10;
inline constexpr uint8_t kFileLinkInformation = 11;
inline constexpr uint8_t kFileNamesInformation = 12;
inline constexpr uint8_t kFileDispositionInformation = 13;
inline constexpr uint8_t kFilePositionInformation = 14;
inline constexpr uint8_t kFileFullEaInformation = 15;
inline constexpr uint8_t kFileModeInformation = 16;
inline constexpr uint8_t kFileAlignmentInformation = 17;
inline constexpr uint8_t kFileAllInformation = 18;
inline constexpr uint8_t kFileAllocationInformation = 19;
inline constexpr uint8_t kFileEndOfFileInformation = 20;
inline constexpr uint8_t kFileAlternateNameInformation = 21;
inline constexpr uint8_t kFileStreamInformation = 22;
inline constexpr uint8_t kFilePipeInformation = 23;
inline constexpr uint8_t kFilePipeLocalInformation = 24;
inline constexpr uint8_t kFilePipeRemoteInformation = 25;
inline constexpr uint8_t kFileMailslotQueryInformation = 26;
inline constexpr uint8_t kFileMailslotSetInformation = 27;
inline constexpr uint8_t kFileCompressionInformation = 28;
inline constexpr uint8_t kFileObjectIdInformation = 29;
inline constexpr uint8_t kFileMoveClusterInformation = 31;
inline constexpr uint8_t kFileQuotaInformation = 32;
inline constexpr uint8_t kFileReparsePointInformation = 33;
inline constexpr uint8_t kFileNetworkOpenInformation = 34;
inline constexpr uint8_t kFileAttributeTagInformation = 35;
inline constexpr uint8_t kFileTrackingInformation = 36;
inline constexpr uint8_t kFileIdBothDirectoryInformation = 37;
inline constexpr uint8_t kFileIdFullDirectoryInformation = 38;
inline constexpr uint8_t kFileValidDataLengthInformation = 39;
inline constexpr uint8_t kFileShortNameInformation = 40;
inline constexpr uint8_t kFileSfioReserveInformation = 44;
inline constexpr uint8_t kFileSfioVolumeInformation = 45;
inline constexpr uint8_t kFileHardLinkInformation = 46;
inline constexpr uint8_t kFileNormalizedNameInformation = 48;
inline constexpr uint8_t kFileIdGlobalTxDirectoryInformation = 50;
inline constexpr uint8_t kFileStandardLinkInformation = 54;
inline constexpr uint8_t kFileIdInformation = 59;
inline constexpr uint8_t kFileIdExtdDirectoryInformation = 60;
inline constexpr uint8_t kFileHardLinkFullIdInformation = 62;
inline constexpr uint8_t kFileIdExtdBothDirectoryInformation = 63;
inline constexpr uint8_t kFileDispositionInformationEx = 64;
inline constexpr uint8_t kFileRenameInformationEx = 65;
inline constexpr uint8_t kFileStatInformation = 68;
inline constexpr uint8_t kFileCaseSensitiveInformation = 71;
inline constexpr uint8_t kFileLinkInformationEx = 72;
inline constexpr uint8_t kFileId64ExtdDirectoryInformation = 78;
inline constexpr uint8_t kFileId64ExtdBothDirectoryInformation = 79;
inline constexpr uint8_t kFileIdAllExtdDirectoryInformation = 80;
inline constexpr uint8_t kFileIdAllExtdBothDirectoryInformation = 81;

// MS-FSCC 2.5 FsInformationClass.
inline constexpr uint8_t kFileFsVolumeInformation = 1;
inline constexpr uint8_t kFileFsLabelInformation = 2;
inline constexpr uint8_t kFileFsSizeInformation = 3;
inline constexpr uint8_t kFileFsDeviceInformation = 4;
inline constexpr uint8_t kFileFsAttributeInformation = 5;
inline constexpr uint8_t kFileFsControlInformation = 6;
inline constexpr uint8_t kFileFsFullSizeInformation = 7;
inline constexpr uint8_t kFileFsObjectIdInformation = 8;
inline constexpr uint8_t kFileFsDriverPathInformation = 9;
inline constexpr uint8_t kFileFsVolumeFlagsInformation = 10;
inline constexpr uint8_t kFileFsSectorSizeInformation = 11;

// MS-FSCC 2.6 File Attributes.
inline constexpr uint32_t kFileAttributeReadonly = 0x00000001;
inline constexpr uint32_t kFileAttributeHidden = 0x00000002;
inline constexpr uint32_t kFileAttributeSystem = 0x00000004;
inline constexpr uint32_t kFileAttributeDirectory = 0x00000010;
inline constexpr uint32_t kFileAttributeArchive = 0x00000020;
inline constexpr uint32_t kFileAttributeNormal = 0x00000080;
inline constexpr uint32_t kFileAttributeTemporary = 0x00000100;
inline constexpr uint32_t kFileAttributeSparseFile = 0x00000200;
inline constexpr uint32_t kFileAttributeReparsePoint = 0x00000400;
inline constexpr uint32_t kFileAttributeCompressed = 0x00000800;
inline constexpr uint32_t kFileAttributeOffline = 0x00001000;
inline constexpr uint32_t kFileAttributeNotContentIndexed = 0x00002000;
inline constexpr uint32_t kFileAttributeEncrypted = 0x00004000;
inline constexpr uint32_t kFileAttributeIntegrityStream = 0x00008000;

// MS-FSCC 2.5.1 FileSystemAttributes.
inline constexpr uint32_t kFileCaseSensitiveSearch = 0x00000001;
inline constexpr uint32_t kFileCasePreservedNames = 0x00000002;
inline constexpr uint32_t kFileUnicodeOnDisk = 0x00000004;
inline constexpr uint32_t kFilePersistentAcls = 0x00000008;
inline constexpr uint32_t kFileFileCompression = 0x00000010;
inline constexpr uint32_t kFileVolumeQuotas = 0x00000020;
inline constexpr uint32_t kFileSupportsSparseFiles = 0x00000040;
inline constexpr uint32_t kFileSupportsReparsePoints = 0x00000080;
inline constexpr uint32_t kFileSupportsRemoteStorage = 0x00000100;
inline constexpr uint32_t kFileVolumeIsCompressed = 0x00008000;
inline constexpr uint32_t kFileSupportsObjectIds = 0x00010000;
inline constexpr uint32_t kFileSupportsEncryption = 0x00020000;
inline constexpr uint32_t kFileNamedStreams = 0x00040000;
inline constexpr uint32_t kFileReadOnlyVolume = 0x00080000;
inline constexpr uint32_t kFileSequentialWriteOnce = 0x00100000;
inline constexpr uint32_t kFileSupportsTransactions = 0x00200000;
inline constexpr uint32_t kFileSupportsHardLinks = 0x00400000;
inline constexpr uint32_t kFileSupportsExtendedAttributes = 0x00800000;
inline constexpr uint32_t kFileSupportsOpenByFileId = 0x01000000;
inline constexpr uint32_t kFileSupportsUsnJournal = 0x02000000;
inline constexpr uint32_t kFileSupportsIntegrityStreams = 0x04000000;
inline constexpr uint32_t kFileSupportsBlockRefcounting = 0x08000000;
inline constexpr uint32_t kFileSupportsSparseVdl = 0x10000000;

// MS-FSCC 2.5.10 FileFsDeviceInformation: DeviceType and Characteristics.
inline constexpr uint32_t kFileDeviceCdRom = 0x00000002;
inline constexpr uint32_t kFileDeviceDisk = 0x00000007;
inline constexpr uint32_t kFileDeviceNamedPipe = 0x00000011;
inline constexpr uint32_t kFileRemovableMedia = 0x00000001;
inline constexpr uint32_t kFileReadOnlyDevice = 0x00000002;
inline constexpr uint32_t kFileRemoteDevice = 0x00000010;
inline constexpr uint32_t kFileDeviceIsMounted = 0x00000020;
inline constexpr uint32_t kFileDeviceSecureOpen = 0x00000100;

// MS-FSCC 2.4.31 FileModeInformation Mode.
inline constexpr uint32_t kFileWriteThrough = 0x00000002;
inline constexpr uint32_t kFileSequentialOnly = 0x00000004;
inline constexpr uint32_t kFileNoIntermediateBuffering = 0x00000008;
inline constexpr uint32_t kFileSynchronousIoAlert = 0x00000010;
inline constexpr uint32_t kFileSynchronousIoNonalert = 0x00000020;
inline constexpr uint32_t kFileDeleteOnClose = 0x00001000;

// MS-FSCC 2.4.12 FileDispositionInformationEx Flags.
inline constexpr uint32_t kFileDispositionDoNotDelete = 0x00000000;
inline constexpr uint32_t kFileDispositionDelete = 0x00000001;
inline constexpr uint32_t kFileDispositionPosixSemantics = 0x00000002;
inline constexpr uint32_t kFileDispositionForceImageSectionCheck = 0x00000004;
inline constexpr uint32_t kFileDispositionOnClose = 0x00000008;
inline constexpr uint32_t kFileDispositionIgnoreReadonlyAttribute = 0x00000010;

// MS-FSCC 2.5.8 FileFsSectorSizeInformation Flags.
inline constexpr uint32_t kSsinfoFlagsAlignedDevice = 0x00000001;
inline constexpr uint32_t kSsinfoFlagsPartitionAlignedOnDevice = 0x00000002;
inline constexpr uint32_t kSsinfoFlagsNoSeekPenalty = 0x00000004;
inline constexpr uint32_t kSsinfoFlagsTrimEnabled = 0x00000008;

}  // namespace sd::fscc
