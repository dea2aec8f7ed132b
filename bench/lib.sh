# Shared by the bench scripts.
# write_results OUT TABLE_FILE: prints the new table and makes it the head of the results file
# OUT, keeping the file's sections from its first "## " heading on (the recorded history).
write_results() {
  local out=$1 table=$2 notes=""
  [ -f "$out" ] && notes=$(sed -n '/^## /,$p' "$out")
  cat "$table"
  { cat "$table"; if [ -n "$notes" ]; then printf '\n%s\n' "$notes"; fi; } > "$out.tmp" && mv "$out.tmp" "$out"
}
