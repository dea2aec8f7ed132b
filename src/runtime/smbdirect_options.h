// The SMB Direct connection options that [global]'s `smb direct ...` size and credit keys give
// (docs/CONFIG.md): one mapping, used by smbdirectd for its listeners and by the tests that
// check what each key does to a connection.
#pragma once
#include <algorithm>
#include <cstdint>

#include "config/config.h"
#include "smbdirect/endpoint.h"

namespace sd::runtime {

inline smbdirect::EndpointOptions smbDirectOptions(const config::Global& g) {
  smbdirect::EndpointOptions o;
  o.smbd.max_read_write_size = g.smb_direct_max_read_write_size ? g.smb_direct_max_read_write_size
                                                               : std::max(g.smb2_max_read, g.smb2_max_write);
  o.smbd.receive_credit_max = uint16_t(g.smb_direct_receive_credits);
  o.smbd.send_credit_target = uint16_t(g.smb_direct_send_credits);
  o.smbd.max_send_size = g.smb_direct_max_send_size;
  o.smbd.max_receive_size = g.smb_direct_max_receive_size;
  o.smbd.max_fragmented_size = g.smb_direct_max_fragmented_size;
  return o;
}

}  // namespace sd::runtime
