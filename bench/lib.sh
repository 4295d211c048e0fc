# Helpers shared by the bench scripts (source it; ROOT is the source tree).

say() { printf 'bench: %s\n' "$*" >&2; }

# fstype PATH: the type of the file system holding PATH (ext4, tmpfs...), or "unknown".
fstype() {
	local t
	t=$(findmnt -n -o FSTYPE -T "$1" 2>/dev/null | head -n 1) || true
	[ -n "$t" ] || t=$(stat -f -c %T "$1" 2>/dev/null) || t=unknown
	printf '%s\n' "$t"
}
