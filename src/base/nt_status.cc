#include "base/nt_status.h"

#include <cerrno>
#include <cstdio>

namespace sd {

const char* ntStatusName(NtStatus s) {
  switch (s) {
#define X(n, str) \
  case NtStatus::n: return str;
    X(kSuccess, "STATUS_SUCCESS")
    X(kPending, "STATUS_PENDING")
    X(kNotifyCleanup, "STATUS_NOTIFY_CLEANUP")
    X(kNotifyEnumDir, "STATUS_NOTIFY_ENUM_DIR")
    X(kBufferOverflow, "STATUS_BUFFER_OVERFLOW")
    X(kNoMoreFiles, "STATUS_NO_MORE_FILES")
    X(kNotImplemented, "STATUS_NOT_IMPLEMENTED")
    X(kInvalidInfoClass, "STATUS_INVALID_INFO_CLASS")
    X(kInfoLengthMismatch, "STATUS_INFO_LENGTH_MISMATCH")
    X(kInvalidHandle, "STATUS_INVALID_HANDLE")
    X(kInvalidParameter, "STATUS_INVALID_PARAMETER")
    X(kNoSuchFile, "STATUS_NO_SUCH_FILE")
    X(kInvalidDeviceRequest, "STATUS_INVALID_DEVICE_REQUEST")
    X(kEndOfFile, "STATUS_END_OF_FILE")
    X(kMoreProcessingRequired, "STATUS_MORE_PROCESSING_REQUIRED")
    X(kNoMemory, "STATUS_NO_MEMORY")
    X(kAccessDenied, "STATUS_ACCESS_DENIED")
    X(kBufferTooSmall, "STATUS_BUFFER_TOO_SMALL")
    X(kObjectNameInvalid, "STATUS_OBJECT_NAME_INVALID")
    X(kObjectNameNotFound, "STATUS_OBJECT_NAME_NOT_FOUND")
    X(kObjectNameCollision, "STATUS_OBJECT_NAME_COLLISION")
    X(kObjectPathNotFound, "STATUS_OBJECT_PATH_NOT_FOUND")
    X(kObjectPathSyntaxBad, "STATUS_OBJECT_PATH_SYNTAX_BAD")
    X(kSharingViolation, "STATUS_SHARING_VIOLATION")
    X(kDeletePending, "STATUS_DELETE_PENDING")
    X(kFileLockConflict, "STATUS_FILE_LOCK_CONFLICT")
    X(kFileNotAvailable, "STATUS_FILE_NOT_AVAILABLE")
    X(kLockNotGranted, "STATUS_LOCK_NOT_GRANTED")
    X(kWrongPassword, "STATUS_WRONG_PASSWORD")
    X(kLogonFailure, "STATUS_LOGON_FAILURE")
    X(kDiskFull, "STATUS_DISK_FULL")
    X(kInsufficientResources, "STATUS_INSUFFICIENT_RESOURCES")
    X(kFileIsADirectory, "STATUS_FILE_IS_A_DIRECTORY")
    X(kNotSupported, "STATUS_NOT_SUPPORTED")
    X(kNetworkNameDeleted, "STATUS_NETWORK_NAME_DELETED")
    X(kBadNetworkName, "STATUS_BAD_NETWORK_NAME")
    X(kRequestNotAccepted, "STATUS_REQUEST_NOT_ACCEPTED")
    X(kInternalError, "STATUS_INTERNAL_ERROR")
    X(kIoTimeout, "STATUS_IO_TIMEOUT")
    X(kDirectoryNotEmpty, "STATUS_DIRECTORY_NOT_EMPTY")
    X(kNotADirectory, "STATUS_NOT_A_DIRECTORY")
    X(kCancelled, "STATUS_CANCELLED")
    X(kFileClosed, "STATUS_FILE_CLOSED")
    X(kCannotDelete, "STATUS_CANNOT_DELETE")
    X(kInvalidLevel, "STATUS_INVALID_LEVEL")
    X(kRangeNotLocked, "STATUS_RANGE_NOT_LOCKED")
    X(kConnectionDisconnected, "STATUS_CONNECTION_DISCONNECTED")
    X(kConnectionReset, "STATUS_CONNECTION_RESET")
    X(kConnectionRefused, "STATUS_CONNECTION_REFUSED")
    X(kNetworkSessionExpired, "STATUS_NETWORK_SESSION_EXPIRED")
    X(kUserSessionDeleted, "STATUS_USER_SESSION_DELETED")
    X(kNotFound, "STATUS_NOT_FOUND")
    X(kNetworkAccessDenied, "STATUS_NETWORK_ACCESS_DENIED")
    X(kBadNetworkPath, "STATUS_BAD_NETWORK_PATH")
    X(kHostUnreachable, "STATUS_HOST_UNREACHABLE")
    X(kInvalidNetworkResponse, "STATUS_INVALID_NETWORK_RESPONSE")
    X(kUnexpectedNetworkError, "STATUS_UNEXPECTED_NETWORK_ERROR")
    X(kTooManyOpenedFiles, "STATUS_TOO_MANY_OPENED_FILES")
    X(kMediaWriteProtected, "STATUS_MEDIA_WRITE_PROTECTED")
    X(kNameTooLong, "STATUS_NAME_TOO_LONG")
    X(kNoSuchUser, "STATUS_NO_SUCH_USER")
    X(kInvalidOwner, "STATUS_INVALID_OWNER")
    X(kAccountDisabled, "STATUS_ACCOUNT_DISABLED")
    X(kNotSameDevice, "STATUS_NOT_SAME_DEVICE")
    X(kFileTooLarge, "STATUS_FILE_TOO_LARGE")
    X(kIoDeviceError, "STATUS_IO_DEVICE_ERROR")
    X(kEasNotSupported, "STATUS_EAS_NOT_SUPPORTED")
    X(kInvalidLockRange, "STATUS_INVALID_LOCK_RANGE")
    X(kInvalidOplockProtocol, "STATUS_INVALID_OPLOCK_PROTOCOL")
    X(kBadImpersonationLevel, "STATUS_BAD_IMPERSONATION_LEVEL")
    X(kFsDriverRequired, "STATUS_FS_DRIVER_REQUIRED")
    X(kObjectPathInvalid, "STATUS_OBJECT_PATH_INVALID")
#undef X
    default: break;
  }
  static thread_local char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", toWire(s));
  return buf;
}

NtStatus ntStatusFromErrno(int err) {
  switch (err) {
    case 0: return NtStatus::kSuccess;
    case ENOENT: return NtStatus::kObjectNameNotFound;
    case ENOTDIR: return NtStatus::kObjectPathNotFound;
    case EACCES:
    case EPERM: return NtStatus::kAccessDenied;
    case EEXIST: return NtStatus::kObjectNameCollision;
    case EISDIR: return NtStatus::kFileIsADirectory;
    case ENOTEMPTY: return NtStatus::kDirectoryNotEmpty;
    case ENOSPC:
    case EDQUOT: return NtStatus::kDiskFull;
    case ENOMEM: return NtStatus::kNoMemory;
    case EMFILE:
    case ENFILE: return NtStatus::kTooManyOpenedFiles;
    case EROFS: return NtStatus::kMediaWriteProtected;
    case ENAMETOOLONG: return NtStatus::kNameTooLong;
    case EXDEV: return NtStatus::kNotSameDevice;
    case EBADF: return NtStatus::kInvalidHandle;
    case EINVAL: return NtStatus::kInvalidParameter;
    case ELOOP: return NtStatus::kAccessDenied;  // symlink refused by RESOLVE_BENEATH/NO_SYMLINKS
    case EFBIG: return NtStatus::kFileTooLarge;
    case EBUSY:
    case ETXTBSY: return NtStatus::kSharingViolation;
    case ENOTSUP: return NtStatus::kNotSupported;
    case ENODATA: return NtStatus::kObjectNameNotFound;
    case E2BIG: return NtStatus::kEaTooLarge;
    case EIO: return NtStatus::kIoDeviceError;
    case ETIMEDOUT: return NtStatus::kIoTimeout;
    case ECONNREFUSED: return NtStatus::kConnectionRefused;
    case ECONNRESET:
    case EPIPE: return NtStatus::kConnectionReset;
    case EHOSTUNREACH:
    case ENETUNREACH: return NtStatus::kHostUnreachable;
    default: return NtStatus::kUnsuccessful;
  }
}

}  // namespace sd
