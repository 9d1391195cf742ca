#!/bin/bash
# SPDX-License-Identifier: MIT
# The bash completion of membind: commands, options, memblk ids, PIDs.
# usage: completion.sh COMPLETION-FILE MEMBIND
set -u
file=${1:?usage: completion.sh COMPLETION-FILE MEMBIND}
M=${2:?}
# shellcheck source=/dev/null
. "$file" || { echo "FAIL: cannot source $file"; exit 1; }
fail=0
# expect 'words ...' WORD...: completing the last word offers these words
expect() {
	local line=$1
	shift
	read -ra COMP_WORDS <<<"$line"
	[[ $line == *' ' ]] && COMP_WORDS+=('')
	COMP_WORDS[0]=$M
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	_membind
	for w in "$@"; do
		if ! printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "$w"; then
			echo "FAIL '$line': no '$w' in: ${COMPREPLY[*]}"
			fail=1
			return
		fi
	done
	echo "ok   '$line' -> ${COMPREPLY[*]:0:12}"
}
expect 'membind ' show run get set where move --help --version
expect 'membind w' where
expect 'membind run --' --hard --soft --round-robin --weighted --first-touch --default --cpus --libnuma --
expect 'membind run --hard ' 0 all n0
expect 'membind run --hard 0 --cpus ' all n0
expect 'membind run --hard 0 -- ' ls
expect 'membind get ' $$
expect 'membind get 1 --' --json
expect 'membind set 1 --' --hard --move
expect 'membind where 1 --' --maps --json
expect 'membind move 1 --to ' 0 all
expect 'membind move 1 --to 0 --' --from --spread --weighted --stripe --threads
expect 'membind move 1 --to 0 --stripe ' 2M
expect 'membind show --' --json --svg
expect 'membind where 1 --' --svg
# after --svg, a FILE
cd "$(dirname "$file")" || exit 1
expect 'membind show --svg memb' membind
expect 'membind where 1 --svg memb' membind
# a FILE after --svg is not the PID: then options, not PIDs
expect 'membind where 1 --svg out.svg --' --maps
expect 'membind where --svg out.svg ' $$
exit $fail
