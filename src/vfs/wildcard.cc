// MS-FSA 2.1.4.4 (FsRtlIsNameInExpression) wildcard matching, case-insensitive for ASCII.
#include <vector>

#include "vfs/share.h"

namespace sd::vfs {

namespace {
char fold(char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; }
}  // namespace

bool wildcardMatch(std::string_view p, std::string_view n) {
  if (p == "*") return true;
  size_t last_dot = n.rfind('.');
  // m[i][j]: p[i..] matches n[j..]; computed backwards, O(|p| * |n|).
  std::vector<std::vector<char>> m(p.size() + 1, std::vector<char>(n.size() + 1, 0));
  m[p.size()][n.size()] = 1;
  for (size_t i = p.size(); i-- > 0;) {
    for (size_t j = n.size() + 1; j-- > 0;) {
      char pc = p[i];
      bool at_end = j == n.size();
      bool r = false;
      switch (pc) {
        case '*':
          r = m[i + 1][j] || (!at_end && m[i][j + 1]);
          break;
        case '<':  // DOS_STAR: any run that does not consume the name's final dot
          r = m[i + 1][j] || (!at_end && (last_dot == std::string_view::npos || j != last_dot) &&
                              m[i][j + 1]);
          break;
        case '?':
          r = !at_end && m[i + 1][j + 1];
          break;
        case '>':  // DOS_QM: one char, or nothing at a dot / the end
          r = (!at_end && n[j] != '.' && m[i + 1][j + 1]) || ((at_end || n[j] == '.') && m[i + 1][j]);
          break;
        case '"':  // DOS_DOT: a dot, or nothing at the end
          r = (!at_end && n[j] == '.' && m[i + 1][j + 1]) || (at_end && m[i + 1][j]);
          break;
        default:
          r = !at_end && fold(pc) == fold(n[j]) && m[i + 1][j + 1];
      }
      m[i][j] = r;
    }
  }
  return m[0][0];
}

}  // namespace sd::vfs
